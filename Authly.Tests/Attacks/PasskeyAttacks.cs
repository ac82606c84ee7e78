using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Authly.Passkeys;
using Authly.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Authly.Tests.Attacks;

/// <summary>
/// Threat class: signing in with a passkey one does not hold, or holds no longer (issue 16). Rules
/// (WebAuthn Level 3 §7.1/§7.2, §13.4): a challenge verifies once, only in the browser it was issued
/// to; the origin is the issuer's origin and the rp id its host; the sign counter moves forward unless
/// it is 0 on both sides; the user handle is the credential's owner; a deleted credential or an
/// inactive account signs nobody in; failures are counted like passwords. Every answer is made by a
/// software authenticator with real keys (<see cref="SoftAuthenticator"/>) and verified by Fido2 unmocked.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class PasskeyAttacks : AppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "4" };

    private sealed record Registered(BrowserFlow Browser, TestUsers.TestUser User, SoftAuthenticator Authenticator);

    /// <summary>A fresh user signed in with the password in its own browser, with one passkey registered from the account page.</summary>
    private async Task<Registered> RegisteredAsync(SoftAuthenticator? authenticator = null)
    {
        var user = await _app.RegisterUserAsync();
        var browser = new BrowserFlow(_app);
        await browser.SignInDirectlyAsync(user);
        authenticator ??= new SoftAuthenticator();
        var options = await OptionsAsync(browser, "/account/passkeys");
        var created = await PostAsync(browser, "/account/passkeys", new JsonObject
        {
            ["csrf_token"] = await CsrfAsync(browser, "/account/passkeys"), ["name"] = "Test key", ["credential"] = authenticator.Create(options),
        });
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created), await created.Content.ReadAsStringAsync());
        return new Registered(browser, user, authenticator);
    }

    /// <summary>The page's CSRF token (the account page repeats it in each passkey's forms).</summary>
    private static async Task<string> CsrfAsync(BrowserFlow browser, string page)
    {
        var html = await BrowserFlow.HtmlAsync(await browser.GetAsync(page));
        var match = System.Text.RegularExpressions.Regex.Match(html, "name=\"csrf_token\" value=\"([^\"]+)\"");
        Assert.That(match.Success, Is.True, html);
        return System.Net.WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    /// <summary>POSTs {csrf_token} to <paramref name="page"/>/options (the CSRF token read from <paramref name="page"/>) and returns the options.</summary>
    private static async Task<JsonObject> OptionsAsync(BrowserFlow browser, string page)
    {
        var path = page == "/login" ? "/login/passkey/options" : page + "/options";
        var response = await PostAsync(browser, path, new JsonObject { ["csrf_token"] = await CsrfAsync(browser, page) });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private static Task<HttpResponseMessage> PostAsync(BrowserFlow browser, string path, JsonObject body) =>
        browser.Http.PostAsync(path, new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));

    private static async Task<HttpResponseMessage> SignInAsync(BrowserFlow browser, JsonObject credential) =>
        await PostAsync(browser, "/login/passkey", new JsonObject
        {
            ["csrf_token"] = await CsrfAsync(browser, "/login"), ["return_to"] = "/device", ["credential"] = credential.DeepClone(),
        });

    /// <summary>A new browser (no session) that asks for sign-in options and answers them with <paramref name="authenticator"/>.</summary>
    private async Task<(BrowserFlow Browser, HttpResponseMessage Response, JsonObject Credential)> PasswordlessAsync(SoftAuthenticator authenticator, byte[]? userHandle = null)
    {
        var browser = new BrowserFlow(_app);
        var options = await OptionsAsync(browser, "/login");
        var credential = authenticator.Get(options, userHandle);
        return (browser, await SignInAsync(browser, credential), credential);
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response, BrowserFlow browser)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(JsonNode.Parse(body)!["detail"]!.GetValue<string>(), Is.EqualTo(PasskeyErrors.FailedMessage), "one answer whatever the reason");
        Assert.That(browser.Cookie("authly_session"), Is.Null, "no session was started");
    }

    private Task<long> SessionsOfAsync(Guid userId) => _app.SqlScalarAsync<long>("SELECT count(*) FROM sessions WHERE user_id = @Id AND ended_at IS NULL", new { Id = userId });

    [Test, Description("WebAuthn §7.2, issue 16: a registered passkey signs in without a password; the session is the login page's, with amr hwk + user + mfa (user verification is always required)")]
    public async Task PasswordlessSignIn_WithRegisteredPasskey_StartsSessionRecordingAmr()
    {
        var registered = await RegisteredAsync();
        var (browser, response, _) = await PasswordlessAsync(registered.Authenticator);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        Assert.That((await response.Content.ReadFromJsonAsync<JsonObject>())!["redirect_to"]!.GetValue<string>(), Is.EqualTo("/device"));
        Assert.That(browser.Cookie("authly_session"), Is.Not.Null);
        var check = await browser.SessionCheckAsync();
        Assert.That(check["active"]!.GetValue<bool>(), Is.True);
        var amr = await _app.SqlScalarAsync<string[]>("SELECT amr FROM sessions WHERE user_id = @Id ORDER BY created_at DESC LIMIT 1", new { Id = registered.User.Id });
        Assert.That(amr, Is.EqualTo(new[] { "hwk", "user", "mfa" }));
        Assert.That(await _app.SqlScalarAsync<long>("SELECT sign_count FROM passkeys WHERE user_id = @Id", new { Id = registered.User.Id }), Is.EqualTo(1));
    }

    [Test, Description("RFC 8176 §2: a backup-eligible (synced) passkey is a software key: amr swk + user + mfa")]
    public async Task PasswordlessSignIn_WithSyncedPasskey_RecordsSwk()
    {
        var registered = await RegisteredAsync(new SoftAuthenticator { BackupEligible = true });
        var (_, response, _) = await PasswordlessAsync(registered.Authenticator);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        var amr = await _app.SqlScalarAsync<string[]>("SELECT amr FROM sessions WHERE user_id = @Id ORDER BY created_at DESC LIMIT 1", new { Id = registered.User.Id });
        Assert.That(amr, Is.EqualTo(new[] { "swk", "user", "mfa" }));
    }

    [Test, Description("WebAuthn §13.4.3: a challenge verifies once; replaying an accepted assertion with its challenge cookie is refused")]
    public async Task ReplayedAssertion_WithItsChallengeCookie_IsRefused()
    {
        var registered = await RegisteredAsync();
        var browser = new BrowserFlow(_app);
        var options = await OptionsAsync(browser, "/login");
        var handle = browser.Cookie(PasskeyEndpointsCookie)!;
        var credential = registered.Authenticator.Get(options);
        Assert.That((await SignInAsync(browser, credential)).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var attacker = new BrowserFlow(_app);
        attacker.PlantCookie(PasskeyEndpointsCookie, handle);
        await AssertRefusedAsync(await SignInAsync(attacker, credential), attacker);
        Assert.That(await SessionsOfAsync(registered.User.Id), Is.EqualTo(2), "the password login and the one passkey login only");
    }

    private const string PasskeyEndpointsCookie = Authly.Server.Endpoints.PasskeyEndpoints.ChallengeCookie;

    [Test, Description("WebAuthn §13.4.3, issue 16: a challenge is bound to the browser it was issued to; an assertion over it from a second browser is refused")]
    public async Task AssertionOverAnotherBrowsersChallenge_IsRefused()
    {
        var registered = await RegisteredAsync();
        var victim = new BrowserFlow(_app);
        var victimOptions = await OptionsAsync(victim, "/login");
        var credential = registered.Authenticator.Get(victimOptions);

        var attacker = new BrowserFlow(_app);
        await AssertRefusedAsync(await SignInAsync(attacker, credential), attacker); // no challenge cookie at all
        _ = await OptionsAsync(attacker, "/login");                                  // a challenge of its own, not the one signed
        await AssertRefusedAsync(await SignInAsync(attacker, credential), attacker);
    }

    [Test, Description("WebAuthn §7.2 step 22, §6.1.1: a sign counter that does not move forward is refused (a cloned authenticator)")]
    public async Task CounterRegression_IsRefused_AndTheStoredCounterStays()
    {
        var registered = await RegisteredAsync();
        registered.Authenticator.Counter = 9;
        Assert.That((await PasswordlessAsync(registered.Authenticator)).Response.StatusCode, Is.EqualTo(HttpStatusCode.OK)); // counter 10

        registered.Authenticator.Counter = 4; // the clone presents 5
        var (browser, response, _) = await PasswordlessAsync(registered.Authenticator);
        await AssertRefusedAsync(response, browser);
        registered.Authenticator.Counter = 9; // presents 10 again: equal is no progress either
        (browser, response, _) = await PasswordlessAsync(registered.Authenticator);
        await AssertRefusedAsync(response, browser);
        Assert.That(await _app.SqlScalarAsync<long>("SELECT sign_count FROM passkeys WHERE user_id = @Id", new { Id = registered.User.Id }), Is.EqualTo(10));
    }

    [Test, Description("WebAuthn §7.2 step 22: an authenticator without a counter (0 on both sides) may sign in again")]
    public async Task CounterZeroOnBothSides_IsAccepted()
    {
        var registered = await RegisteredAsync(new SoftAuthenticator { CounterStep = 0 });
        Assert.That((await PasswordlessAsync(registered.Authenticator)).Response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await PasswordlessAsync(registered.Authenticator)).Response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test, Description("WebAuthn §7.2 step 6: the user handle must be the credential's owner; a handle naming another user is refused")]
    public async Task UserHandleOfAnotherUser_IsRefused()
    {
        var alice = await RegisteredAsync();
        var bob = await RegisteredAsync();
        var (browser, response, _) = await PasswordlessAsync(alice.Authenticator, userHandle: bob.Authenticator.UserHandle);
        await AssertRefusedAsync(response, browser);
        Assert.That(await SessionsOfAsync(bob.User.Id), Is.EqualTo(1), "bob has only his password session");
    }

    [Test, Description("Issue 16 second-factor API: another user's credential does not prove this user's second factor")]
    public async Task SecondFactor_WithAnotherUsersCredential_IsRefused()
    {
        var alice = await RegisteredAsync();
        var bob = await RegisteredAsync();
        var assertion = _app.Services.GetRequiredService<PasskeyAssertion>();

        var ceremony = await assertion.BeginAsync(bob.User.Id, CancellationToken.None);
        var options = JsonNode.Parse(ceremony.Options)!.AsObject();
        Assert.That(options["allowCredentials"]!.AsArray().Select(c => c!["id"]!.GetValue<string>()), Is.EqualTo(new[] { bob.Authenticator.Id }));
        var stolen = JsonSerializer.SerializeToElement(alice.Authenticator.Get(options));
        var refused = Assert.ThrowsAsync<AuthlyException>(() => assertion.VerifyAsync(bob.User.Id, ceremony.Handle, stolen, "192.0.2.1", CancellationToken.None));
        Assert.That(refused!.Detail, Is.EqualTo(PasskeyErrors.FailedMessage));

        // Bob's own passkey over a fresh challenge passes, with the amr a second factor adds.
        ceremony = await assertion.BeginAsync(bob.User.Id, CancellationToken.None);
        var own = JsonSerializer.SerializeToElement(bob.Authenticator.Get(JsonNode.Parse(ceremony.Options)!.AsObject()));
        var verified = await assertion.VerifyAsync(bob.User.Id, ceremony.Handle, own, "192.0.2.1", CancellationToken.None);
        Assert.That((verified.User.Id, verified.Amr), Is.EqualTo((bob.User.Id, (IReadOnlyList<string>)["hwk", "user", "mfa"])));
    }

    [Test, Description("WebAuthn §7.2 steps 13 and 15: an assertion made for another origin or rp id (a phishing site) is refused")]
    [TestCase("http://evil.example", "localhost")]
    [TestCase("http://localhost:8443", "localhost")]
    [TestCase("http://localhost", "evil.example")]
    public async Task AssertionForAnotherOriginOrRpId_IsRefused(string origin, string rpId)
    {
        var registered = await RegisteredAsync();
        registered.Authenticator.Origin = origin;
        registered.Authenticator.RpId = rpId;
        var (browser, response, _) = await PasswordlessAsync(registered.Authenticator);
        await AssertRefusedAsync(response, browser);
    }

    [Test, Description("WebAuthn §7.1 steps 9 and 13: a registration made on another origin is refused and stores nothing")]
    public async Task RegistrationForAnotherOrigin_IsRefused()
    {
        var user = await _app.RegisterUserAsync();
        var browser = new BrowserFlow(_app);
        await browser.SignInDirectlyAsync(user);
        var options = await OptionsAsync(browser, "/account/passkeys");
        using var phished = new SoftAuthenticator { Origin = "http://evil.example" };
        var response = await PostAsync(browser, "/account/passkeys", new JsonObject
        {
            ["csrf_token"] = await CsrfAsync(browser, "/account/passkeys"), ["credential"] = phished.Create(options),
        });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await response.Content.ReadAsStringAsync());
        Assert.That(await _app.SqlScalarAsync<long>("SELECT count(*) FROM passkeys WHERE user_id = @Id", new { Id = user.Id }), Is.Zero);
    }

    [Test, Description("Issue 16: a passkey deleted from the account page signs nobody in")]
    public async Task DeletedPasskey_IsRefused()
    {
        var registered = await RegisteredAsync();
        var id = await _app.SqlScalarAsync<Guid>("SELECT id FROM passkeys WHERE user_id = @Id", new { Id = registered.User.Id });
        var deleted = await registered.Browser.PostFormAsync($"/account/passkeys/{id}/delete",
            [new("csrf_token", await CsrfAsync(registered.Browser, "/account/passkeys"))]);
        Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await deleted.Content.ReadAsStringAsync());

        var (browser, response, _) = await PasswordlessAsync(registered.Authenticator);
        await AssertRefusedAsync(response, browser);
    }

    [Test, Description("Issue 16: another user cannot delete or rename my passkey from their account page")]
    public async Task DeleteOrRenameOfAnotherUsersPasskey_IsNotFound_AndChangesNothing()
    {
        var victim = await RegisteredAsync();
        var attacker = await RegisteredAsync();
        var id = await _app.SqlScalarAsync<Guid>("SELECT id FROM passkeys WHERE user_id = @Id", new { Id = victim.User.Id });
        var csrf = await CsrfAsync(attacker.Browser, "/account/passkeys");
        Assert.That((await attacker.Browser.PostFormAsync($"/account/passkeys/{id}/delete", [new("csrf_token", csrf)])).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await attacker.Browser.PostFormAsync($"/account/passkeys/{id}/rename", [new("csrf_token", csrf), new("name", "mine")])).StatusCode,
            Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await _app.SqlScalarAsync<string>("SELECT name FROM passkeys WHERE id = @Id", new { Id = id }), Is.EqualTo("Test key"));
    }

    [Test, Description("Issue 16: a deactivated account cannot sign in with its passkey")]
    public async Task InactiveUser_IsRefused()
    {
        var registered = await RegisteredAsync();
        await _app.SqlScalarAsync<int>("UPDATE users SET is_active = false WHERE id = @Id RETURNING 1", new { Id = registered.User.Id });
        var (browser, response, _) = await PasswordlessAsync(registered.Authenticator);
        await AssertRefusedAsync(response, browser);
    }

    [Test, Description("RFC 6749 §10.10 as for passwords: failed passkey attempts on one account lock it (429 with Retry-After), even for a right signature")]
    public async Task RepeatedFailures_LockTheAccountsPasskeys()
    {
        var registered = await RegisteredAsync();
        registered.Authenticator.Origin = "http://evil.example";
        for (var i = 0; i < 4; i++)
        {
            var (browser, response, _) = await PasswordlessAsync(registered.Authenticator);
            await AssertRefusedAsync(response, browser);
        }
        registered.Authenticator.Origin = "http://localhost";
        var (locked, lockedResponse, _) = await PasswordlessAsync(registered.Authenticator);
        Assert.That(lockedResponse.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), await lockedResponse.Content.ReadAsStringAsync());
        Assert.That(lockedResponse.Headers.RetryAfter, Is.Not.Null);
        Assert.That(locked.Cookie("authly_session"), Is.Null);
    }

    [Test, Description("Bad input: a credential that is not a WebAuthn object is a 400 naming it, and consumes nothing")]
    [TestCase("\"a string\"")]
    [TestCase("{\"id\":\"x\",\"rawId\":\"not base64url!\",\"type\":\"public-key\",\"response\":{}}")]
    public async Task MalformedCredential_IsRefusedNamingIt(string credential)
    {
        var browser = new BrowserFlow(_app);
        _ = await OptionsAsync(browser, "/login");
        var body = $"{{\"csrf_token\":\"{await CsrfAsync(browser, "/login")}\",\"credential\":{credential}}}";
        var response = await browser.Http.PostAsync("/login/passkey", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var json = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), json);
        Assert.That(JsonNode.Parse(json)!["field"]?.GetValue<string>(), Is.EqualTo("credential"), json);
    }

    [Test, Description("Issue 16: registration needs the browser's session; without one it is 401 and starts no ceremony")]
    public async Task RegistrationOptions_WithoutSession_AreRefused()
    {
        var browser = new BrowserFlow(_app);
        var csrf = await CsrfAsync(browser, "/login");
        var response = await PostAsync(browser, "/account/passkeys/options", new JsonObject { ["csrf_token"] = csrf });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), await response.Content.ReadAsStringAsync());
        Assert.That(browser.Cookie(PasskeyEndpointsCookie), Is.Null);
    }
}
