using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Authly.Mfa;
using Authly.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Authly.Tests.Mfa;

/// <summary>
/// Issue 16: a passkey as the second factor after the password, the passwordless passkey sign-in against
/// mfa_required and acr_values, and the admin reset taking passkeys too. Assertions come from
/// <see cref="SoftAuthenticator"/> (real ES256 keys, Fido2 unmocked).
/// </summary>
[TestFixture, Category("Issue16")]
public sealed class PasskeySecondFactorTests : RelyingPartyFixture
{
    private readonly TestClock _clock = new(DateTimeOffset.UtcNow);
    protected override TimeProvider? Clock => _clock;

    private BrowserFlow.Request OpenId(string? acr = null) => new(_clientId, Redirect, "openid")
    {
        Extra = acr is null ? new Dictionary<string, string?>() : new Dictionary<string, string?> { ["acr_values"] = acr },
    };

    private Task MfaRequiredAsync(Guid userId) =>
        _app.SqlScalarAsync<int>("UPDATE users SET mfa_required = true WHERE id = @Id RETURNING 1", new { Id = userId });

    private static string[] Claim(JsonObject tokens, string name) =>
        new JsonWebToken(AuthlyApp.Str(tokens, "id_token")).GetPayloadValue<string[]>(name);

    [Test, Description("Issue 16: a user whose only factor is a passkey (mfa_required) is asked for it, not sent to TOTP enrolment; the session's amr is pwd + hwk + mfa (RFC 8176)")]
    public async Task PasskeyOnlyUser_WithMfaRequired_CompletesTheStepWithThePasskey()
    {
        var user = await _app.RegisterUserAsync();
        await MfaRequiredAsync(user.Id);
        using var authenticator = await _app.RegisterPasskeyAsync(user.Id);
        using var browser = new BrowserFlow(_app);
        var request = OpenId();

        var stepResponse = await browser.GetAsync("/login/second-factor?return_to=" + Uri.EscapeDataString(request.Url));
        Assert.That(stepResponse.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "no pending login yet");
        var step = await browser.PasswordThenStepAsync(request, user);
        Assert.That(SecondFactorFlow.OffersPasskey(step), Is.True, step);
        Assert.That(step, Does.Not.Contain("id=\"code\""), "no TOTP form: the user has none");
        Assert.That(step, Does.Contain("/static/passkeys.js"));

        var options = await browser.PasskeyStepOptionsAsync(step);
        Assert.That(options["allowCredentials"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()), Is.EqualTo(new[] { authenticator.Id }), "the pending user's passkeys only");
        var done = await browser.SubmitPasskeyStepAsync(step, authenticator.Get(options));
        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.OK), await done.Content.ReadAsStringAsync());
        Assert.That((await done.Content.ReadFromJsonAsync<JsonObject>())!["redirect_to"]!.GetValue<string>(), Is.EqualTo(request.Url));
        Assert.That(browser.Cookie("authly_session"), Is.Not.Null);

        var tokens = await browser.TokensAsync(request, user);
        Assert.That(Claim(tokens, "amr"), Is.EqualTo(new[] { "pwd", "hwk", "mfa" }));
        Assert.That(new JsonWebToken(AuthlyApp.Str(tokens, "id_token")).GetPayloadValue<string>("acr"), Is.EqualTo(AuthenticationMethods.AcrMultiFactor));
    }

    [Test, Description("Issue 16: a user with TOTP and a passkey is offered both on the step page (whose CSP allows its script); the code still works")]
    public async Task StepPage_WithTotpAndPasskey_OffersBoth()
    {
        var user = await _app.RegisterUserAsync();
        using var authenticator = await _app.RegisterPasskeyAsync(user.Id);
        var secret = await _app.EnrolTotpAsync(user.Id, _clock);
        using var browser = new BrowserFlow(_app);
        var login = await BrowserFlow.HtmlAsync(await browser.GetAsync(OpenId().Url));
        var stepResponse = await browser.FollowAsync(await browser.SubmitLoginAsync(login, user.Username, user.Password));
        var step = await stepResponse.Content.ReadAsStringAsync();
        Assert.That(string.Join(";", stepResponse.Headers.GetValues("Content-Security-Policy")), Does.Contain("script-src 'self'"));
        Assert.That(SecondFactorFlow.OffersPasskey(step), Is.True, step);
        Assert.That(step, Does.Contain("id=\"code\""), "and the TOTP form");
        var done = await browser.SubmitSecondFactorAsync(step, SecondFactorFlow.Code(secret, _clock));
        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await done.Content.ReadAsStringAsync());
    }

    [Test, Description("Issue 16, RFC 8176: a passwordless passkey sign-in (amr hwk, user, mfa) meets mfa_required and acr_values=urn:authly:acr:mfa without a further step")]
    public async Task PasswordlessPasskeySignIn_MeetsMfaRequiredAndAcrMfa()
    {
        var user = await _app.RegisterUserAsync();
        await MfaRequiredAsync(user.Id);
        using var authenticator = await _app.RegisterPasskeyAsync(user.Id);
        using var browser = new BrowserFlow(_app);
        var loginHtml = await BrowserFlow.HtmlAsync(await browser.GetAsync("/login"));
        var csrf = BrowserFlow.HiddenFields(loginHtml)["csrf_token"];
        var optionsResponse = await browser.PostJsonAsync("/login/passkey/options", new JsonObject { ["csrf_token"] = csrf });
        var options = (await optionsResponse.Content.ReadFromJsonAsync<JsonObject>())!;
        var signedIn = await browser.PostJsonAsync("/login/passkey", new JsonObject { ["csrf_token"] = csrf, ["return_to"] = "/device", ["credential"] = authenticator.Get(options) });
        Assert.That(signedIn.StatusCode, Is.EqualTo(HttpStatusCode.OK), await signedIn.Content.ReadAsStringAsync());

        // AuthorizeAsync fails on any page but consent: a step-up or an enrolment would be a page.
        var tokens = await browser.TokensAsync(OpenId(AuthenticationMethods.AcrMultiFactor), user);
        Assert.That(Claim(tokens, "amr"), Is.EqualTo(new[] { "hwk", "user", "mfa" }));
        Assert.That(new JsonWebToken(AuthlyApp.Str(tokens, "id_token")).GetPayloadValue<string>("acr"), Is.EqualTo(AuthenticationMethods.AcrMultiFactor));
    }

    [Test, Description("Issue 16: the admin API lists passkeys among the factors; DELETE /admin/users/{id}/mfa/passkey removes only them, DELETE /admin/users/{id}/mfa everything")]
    public async Task AdminReset_RemovesPasskeys()
    {
        var user = await _app.RegisterUserAsync();
        using var first = await _app.RegisterPasskeyAsync(user.Id);
        await _app.EnrolTotpAsync(user.Id, _clock);
        using var admin = await _app.AdminClientAsync("admin:users:write admin:users:read");
        var listed = await AuthlyApp.JsonAsync(await admin.GetAsync($"/admin/users/{user.Id}/mfa"));
        Assert.That(listed["factors"]!.AsArray().Select(f => f!["type"]!.GetValue<string>()), Is.EqualTo(new[] { "totp", "passkey" }));
        Assert.That(listed["factors"]![1]!["count"]!.GetValue<int>(), Is.EqualTo(1));
        Task<long> PasskeysAsync() => _app.SqlScalarAsync<long>("SELECT count(*) FROM passkeys WHERE user_id = @Id", new { user.Id });

        var one = await AuthlyApp.JsonAsync(await admin.DeleteAsync($"/admin/users/{user.Id}/mfa/passkey"));
        Assert.That(one["removed"]!.GetValue<bool>(), Is.True);
        Assert.That(await PasskeysAsync(), Is.Zero);
        Assert.That(await _app.SqlScalarAsync<long>("SELECT count(*) FROM mfa_totp WHERE user_id = @Id", new { user.Id }), Is.EqualTo(1), "TOTP stays");

        using var second = await _app.RegisterPasskeyAsync(user.Id);
        var reset = await AuthlyApp.JsonAsync(await admin.DeleteAsync($"/admin/users/{user.Id}/mfa"));
        Assert.That(reset["removed"]!.GetValue<bool>(), Is.True);
        Assert.That(await PasskeysAsync(), Is.Zero);
        Assert.That(await _app.SqlScalarAsync<long>("SELECT count(*) FROM mfa_totp WHERE user_id = @Id", new { user.Id }), Is.Zero);
    }
}
