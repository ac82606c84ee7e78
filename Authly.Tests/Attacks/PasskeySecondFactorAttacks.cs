using System.Net;
using System.Text.Json.Nodes;
using Authly.Passkeys;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Threat class: finishing someone's pending second-factor login with a passkey one does not hold (issue 16). The
/// attacker has the victim's password. Rules: the options and the assertion are for the user of the pending login
/// the browser's own cookie names (never a user from the request); the challenge is bound to the browser it was
/// issued to and to that user, and verifies once (WebAuthn §13.4.3). Assertions are real ES256 signatures
/// (<see cref="SoftAuthenticator"/>); each attack must leave the victim without a session.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class PasskeySecondFactorAttacks : RelyingPartyFixture
{
    private const string PendingCookie = Authly.Server.Http.PendingLoginCookie.Name;
    private const string ChallengeCookie = Authly.Server.Endpoints.PasskeyEndpoints.ChallengeCookie;

    private BrowserFlow.Request OpenId() => new(_clientId, Redirect, "openid");

    private Task<long> SessionsAsync(Guid userId) =>
        _app.SqlScalarAsync<long>("SELECT count(*) FROM sessions WHERE user_id = @Id", new { Id = userId });

    /// <summary>The browser's pending-login cookie (its path is /login).</summary>
    private static string PendingOf(BrowserFlow browser) =>
        browser.Cookies.GetCookies(new Uri("http://localhost/login/"))[PendingCookie]?.Value ?? throw new AssertionException("no pending login");

    private static async Task AssertRefusedAsync(HttpResponseMessage response, BrowserFlow browser)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(JsonNode.Parse(body)!["detail"]!.GetValue<string>(), Is.EqualTo(PasskeyErrors.FailedMessage));
        Assert.That(browser.Cookie("authly_session"), Is.Null, "no session was started");
    }

    [Test, Description("Issue 16: user B's passkey assertion does not complete user A's pending login, neither over A's challenge nor over one issued for B's own pending login")]
    public async Task AnotherUsersAssertion_DoesNotCompleteThePendingLogin()
    {
        var victim = await _app.RegisterUserAsync();
        using var victimKey = await _app.RegisterPasskeyAsync(victim.Id);
        var attacker = await _app.RegisterUserAsync();
        using var attackerKey = await _app.RegisterPasskeyAsync(attacker.Id);

        // Over the victim's challenge (allowCredentials: the victim's passkey only).
        using var browser = new BrowserFlow(_app);
        var step = await browser.PasswordThenStepAsync(OpenId(), victim);
        await AssertRefusedAsync(await browser.SubmitPasskeyStepAsync(step, attackerKey.Get(await browser.PasskeyStepOptionsAsync(step))), browser);

        // Over a challenge issued for the attacker's own pending login, then posted with the victim's pending login.
        using var swap = new BrowserFlow(_app);
        var ownStep = await swap.PasswordThenStepAsync(OpenId(), attacker);
        var signed = attackerKey.Get(await swap.PasskeyStepOptionsAsync(ownStep));
        var victimStep = await swap.PasswordThenStepAsync(OpenId(), victim); // the pending cookie now names the victim
        await AssertRefusedAsync(await swap.SubmitPasskeyStepAsync(victimStep, signed), swap);

        Assert.That(await SessionsAsync(victim.Id), Is.Zero);
        Assert.That(await SessionsAsync(attacker.Id), Is.Zero, "nor did the attacker's own pending login complete");
    }

    [Test, Description("Issue 16, WebAuthn §13.4.3: a pending cookie carried to another browser with a relayed assertion completes nothing; the challenge belongs to the browser that asked")]
    public async Task PendingCookieFromAnotherBrowser_WithRelayedAssertion_IsRefused()
    {
        var victim = await _app.RegisterUserAsync();
        using var victimKey = await _app.RegisterPasskeyAsync(victim.Id);
        using var victimBrowser = new BrowserFlow(_app);
        var step = await victimBrowser.PasswordThenStepAsync(OpenId(), victim);
        var relayed = victimKey.Get(await victimBrowser.PasskeyStepOptionsAsync(step));

        using var attackerBrowser = new BrowserFlow(_app);
        attackerBrowser.PlantCookie(Authly.Server.Http.Csrf.CookieName, victimBrowser.Cookie(Authly.Server.Http.Csrf.CookieName)!);
        var withoutPending = await attackerBrowser.PostJsonAsync("/login/second-factor/passkey/options",
            new JsonObject { ["csrf_token"] = SecondFactorFlow.PasskeyStepFields(step).Csrf });
        Assert.That(withoutPending.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "no pending login, no options");
        Assert.That(attackerBrowser.Cookie(ChallengeCookie), Is.Null);

        attackerBrowser.PlantCookie(PendingCookie, PendingOf(victimBrowser));
        await AssertRefusedAsync(await attackerBrowser.SubmitPasskeyStepAsync(step, relayed), attackerBrowser); // no challenge of its own
        _ = await attackerBrowser.PasskeyStepOptionsAsync(step);                                               // one of its own, not the one signed
        await AssertRefusedAsync(await attackerBrowser.SubmitPasskeyStepAsync(step, relayed), attackerBrowser);
        Assert.That(await SessionsAsync(victim.Id), Is.Zero);

        // The victim's own browser still finishes its login with the same assertion: the attempts consumed nothing of it.
        var done = await victimBrowser.SubmitPasskeyStepAsync(step, relayed);
        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.OK), await done.Content.ReadAsStringAsync());
        Assert.That(await SessionsAsync(victim.Id), Is.EqualTo(1));
    }

    [Test, Description("Issue 16, WebAuthn §13.4.3: an accepted second-factor assertion replayed (with its challenge cookie) into a new pending login is refused")]
    public async Task ReplayedAssertion_IntoANewPendingLogin_IsRefused()
    {
        var victim = await _app.RegisterUserAsync();
        using var victimKey = await _app.RegisterPasskeyAsync(victim.Id);
        using var victimBrowser = new BrowserFlow(_app);
        var step = await victimBrowser.PasswordThenStepAsync(OpenId(), victim);
        var assertion = victimKey.Get(await victimBrowser.PasskeyStepOptionsAsync(step));
        var handle = victimBrowser.Cookie(ChallengeCookie)!;
        Assert.That((await victimBrowser.SubmitPasskeyStepAsync(step, assertion)).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        using var attacker = new BrowserFlow(_app);
        var attackerStep = await attacker.PasswordThenStepAsync(OpenId(), victim); // has the password
        attacker.PlantCookie(ChallengeCookie, handle);
        await AssertRefusedAsync(await attacker.SubmitPasskeyStepAsync(attackerStep, assertion), attacker);
        _ = await attacker.PasskeyStepOptionsAsync(attackerStep);
        await AssertRefusedAsync(await attacker.SubmitPasskeyStepAsync(attackerStep, assertion), attacker);
        Assert.That(await SessionsAsync(victim.Id), Is.EqualTo(1), "the victim's own login only");
    }
}
