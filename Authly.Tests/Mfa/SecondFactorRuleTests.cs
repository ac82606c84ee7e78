using System.Net;
using System.Net.Http.Json;
using Authly.Grants;
using Authly.Mfa;
using Authly.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Authly.Tests.Mfa;

/// <summary>Issue 16's rules for second factors, over HTTP: replay, enrolment before consent, the password grant, acr_values step-up, admin reset.</summary>
[TestFixture, Category("Issue16")]
public sealed class SecondFactorRuleTests : RelyingPartyFixture
{
    private readonly TestClock _clock = new(DateTimeOffset.UtcNow);
    protected override TimeProvider? Clock => _clock;

    private BrowserFlow.Request OpenId(string? acr = null) => new(_clientId, Redirect, "openid")
    {
        Extra = acr is null ? new Dictionary<string, string?>() : new Dictionary<string, string?> { ["acr_values"] = acr },
    };

    [Test, Description("RFC 6238 §5.2: a code accepted once is refused for the next login, on the same step")]
    public async Task TotpCode_UsedOnce_IsRefusedTheSecondTime()
    {
        var user = await _app.RegisterUserAsync();
        var secret = await _app.EnrolTotpAsync(user.Id, _clock);
        var code = SecondFactorFlow.Code(secret, _clock);
        using (var first = new BrowserFlow(_app))
        {
            var ok = await first.SubmitSecondFactorAsync(await first.PasswordThenStepAsync(OpenId(), user), code);
            Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        }
        using var second = new BrowserFlow(_app);
        var replay = await second.SubmitSecondFactorAsync(await second.PasswordThenStepAsync(OpenId(), user), code);
        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await replay.Content.ReadAsStringAsync(), Does.Contain("That code is not valid"));
        Assert.That(second.Cookie("authly_session"), Is.Null, "no session from a replayed code");
    }

    [Test, Description("Issue 16: a user who must have a second factor enrols after the password, before any consent or code")]
    public async Task MfaRequiredUser_WithoutFactor_EnrolsBeforeConsent()
    {
        var user = await _app.RegisterUserAsync();
        using var admin = await _app.AdminClientAsync("admin:users:write admin:users:read");
        var set = await admin.PutAsJsonAsync($"/admin/users/{user.Id}/mfa", new { mfa_required = true });
        Assert.That(set.StatusCode, Is.EqualTo(HttpStatusCode.OK), await set.Content.ReadAsStringAsync());

        using var browser = new BrowserFlow(_app);
        var request = OpenId();
        var posted = await browser.SubmitLoginAsync(await BrowserFlow.HtmlAsync(await browser.GetAsync(request.Url)), user.Username, user.Password);
        Assert.That(posted.Headers.Location!.OriginalString, Does.StartWith("/login/enrol"));
        Assert.That(browser.Cookie("authly_session"), Is.Null, "no session before the enrolment");
        // Straight back to the authorization request: the login page again, never consent or a code.
        var again = await BrowserFlow.HtmlAsync(await browser.GetAsync(request.Url));
        Assert.That(BrowserFlow.IsLoginPage(again), Is.True);
        Assert.That(await browser.ScalarAsync<long>("SELECT count(*) FROM authorization_codes WHERE user_id = @Id", new { user.Id }), Is.Zero);

        var enrolPage = await BrowserFlow.HtmlAsync(await browser.FollowAsync(posted));
        var secretText = System.Text.RegularExpressions.Regex.Match(enrolPage, "id=\"totp-secret\">([A-Z2-7]+)<").Groups[1].Value;
        Assert.That(enrolPage, Does.Contain("data:image/png;base64,"), "the QR code");
        var secret = OtpNet.Base32Encoding.ToBytes(secretText);
        var hidden = BrowserFlow.HiddenFields(enrolPage);
        var wrong = await browser.PostFormAsync("/login/enrol", new Dictionary<string, string>
            { ["csrf_token"] = hidden["csrf_token"], ["return_to"] = hidden["return_to"], ["code"] = "000000" == SecondFactorFlow.Code(secret, _clock) ? "111111" : "000000" });
        Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "a wrong code enrols nothing");
        var confirmed = await browser.PostFormAsync("/login/enrol", new Dictionary<string, string>
            { ["csrf_token"] = hidden["csrf_token"], ["return_to"] = hidden["return_to"], ["code"] = SecondFactorFlow.Code(secret, _clock) });
        var codesPage = await confirmed.Content.ReadAsStringAsync();
        Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.OK), codesPage);
        Assert.That(System.Text.RegularExpressions.Regex.Matches(codesPage, "<li><code>[A-Z2-9]{4}-").Count, Is.EqualTo(10), "ten recovery codes, shown once");
        Assert.That(browser.Cookie("authly_session"), Is.Not.Null);
        var tokens = await browser.TokensAsync(request, user);
        Assert.That(new JsonWebToken(AuthlyApp.Str(tokens, "id_token")).GetPayloadValue<string>("acr"), Is.EqualTo(AuthenticationMethods.AcrMultiFactor));
    }

    [Test, Description("Issue 16: the password grant cannot bypass an enrolled or a required second factor")]
    public async Task PasswordGrant_ForUserWithSecondFactor_IsRefusedNamingTheBrowserAndDeviceFlow()
    {
        var enrolled = await _app.RegisterUserAsync();
        await _app.EnrolTotpAsync(enrolled.Id, _clock);
        var required = await _app.RegisterUserAsync();
        await _app.SqlScalarAsync<int>("UPDATE users SET mfa_required = true WHERE id = @Id RETURNING 1", new { required.Id });
        foreach (var user in new[] { enrolled, required })
        {
            var response = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", user.Username), ("password", user.Password));
            var body = await AuthlyApp.JsonAsync(response);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(AuthlyApp.Str(body, "error"), Is.EqualTo("invalid_grant"));
            Assert.That(AuthlyApp.Str(body, "error_description"), Is.EqualTo(PasswordGrant.SecondFactorRequired).And.Contain("device flow"));
            Assert.That(body.ContainsKey("access_token"), Is.False);
        }
        // A wrong password says nothing about second factors.
        var wrong = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", enrolled.Username), ("password", "wrong-password-1"));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(wrong), "error_description"), Is.EqualTo("Incorrect username or password"));
    }

    [Test, Description("OIDC Core §3.1.2.1 acr_values: a session weaker than asked for is asked for the second factor again")]
    public async Task AcrValues_StrongerThanSession_AsksForTheSecondFactor()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        await browser.TokensAsync(OpenId(), user); // a password-only session
        var secret = await _app.EnrolTotpAsync(user.Id, _clock); // set up later (e.g. on another device)

        var stepUp = await browser.GetAsync(OpenId(AuthenticationMethods.AcrMultiFactor).Url);
        Assert.That(stepUp.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(stepUp.Headers.Location!.OriginalString, Does.StartWith("/login/second-factor"));
        var step = await BrowserFlow.HtmlAsync(await browser.FollowAsync(stepUp));
        var done = await browser.SubmitSecondFactorAsync(step, SecondFactorFlow.Code(secret, _clock));
        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var tokens = await browser.TokensAsync(OpenId(AuthenticationMethods.AcrMultiFactor), user);
        Assert.That(new JsonWebToken(AuthlyApp.Str(tokens, "id_token")).GetPayloadValue<string>("acr"), Is.EqualTo(AuthenticationMethods.AcrMultiFactor));
        // A weaker acr than the session has needs nothing more.
        var weaker = await browser.TokensAsync(OpenId(AuthenticationMethods.AcrPassword), user);
        Assert.That(weaker.ContainsKey("id_token"), Is.True);
    }

    [Test, Description("OIDC Core §3.1.2.1: acr_values with prompt=none answers interaction_required instead of a page")]
    public async Task AcrValues_WithPromptNone_AnswersInteractionRequired()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        await browser.TokensAsync(OpenId(), user);
        var request = new BrowserFlow.Request(_clientId, Redirect, "openid")
            { Extra = new Dictionary<string, string?> { ["acr_values"] = AuthenticationMethods.AcrMultiFactor, ["prompt"] = "none" } };
        var response = await browser.GetAsync(request.Url);
        Assert.That(BrowserFlow.Query(response.Headers.Location!)["error"], Is.EqualTo("interaction_required"));
    }

    [Test, Description("Issue 16: admin API lists and resets a user's factors")]
    public async Task AdminApi_ListsAndResetsFactors()
    {
        var user = await _app.RegisterUserAsync();
        await _app.EnrolTotpAsync(user.Id, _clock);
        await _app.RecoveryCodesAsync(user.Id);
        using var admin = await _app.AdminClientAsync("admin:users:write admin:users:read");
        var listed = await AuthlyApp.JsonAsync(await admin.GetAsync($"/admin/users/{user.Id}/mfa"));
        Assert.That(listed["factors"]!.AsArray().Select(f => f!["type"]!.GetValue<string>()), Is.EqualTo(new[] { "totp", "recovery_code" }));
        Assert.That(listed.ToJsonString(), Does.Not.Contain("secret"));
        var reset = await admin.DeleteAsync($"/admin/users/{user.Id}/mfa");
        Assert.That((await AuthlyApp.JsonAsync(reset))["removed"]!.GetValue<bool>(), Is.True);
        Assert.That((await AuthlyApp.JsonAsync(await admin.GetAsync($"/admin/users/{user.Id}/mfa")))["factors"]!.AsArray(), Is.Empty);
        var unknown = await admin.DeleteAsync($"/admin/users/{user.Id}/mfa/sms");
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "bad input: an unknown kind");
        var badBody = await admin.PutAsJsonAsync($"/admin/users/{user.Id}/mfa", new { });
        Assert.That(badBody.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "bad input: mfa_required missing");
        // After the reset the user signs in with the password alone again (nothing required).
        var token = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", user.Username), ("password", user.Password));
        Assert.That(token.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
