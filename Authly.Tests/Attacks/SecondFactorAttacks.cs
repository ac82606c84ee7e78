using System.Net;
using Authly.Mfa;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Threat class: getting past the second factor (issue 16). The attacker has the password; each
/// test is an attack that must fail for the attacker and leave no session behind.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class SecondFactorAttacks : RelyingPartyFixture
{
    private const int MaxAttempts = 5;
    private readonly TestClock _clock = new(DateTimeOffset.UtcNow);
    protected override TimeProvider? Clock => _clock;
    protected override IReadOnlyDictionary<string, string?>? Settings => new Dictionary<string, string?> { ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = MaxAttempts.ToString() };

    private BrowserFlow.Request OpenId() => new(_clientId, Redirect, "openid");

    private async Task<long> SessionsAsync(Guid userId)
    {
        using var browser = new BrowserFlow(_app);
        return await browser.ScalarAsync<long>("SELECT count(*) FROM sessions WHERE user_id = @Id", new { Id = userId });
    }

    [Test, Description("A pending login is never a session: its cookie in a second browser opens nothing but the step")]
    public async Task PendingCookie_InASecondBrowser_IsNotASession()
    {
        var user = await _app.RegisterUserAsync();
        await _app.EnrolTotpAsync(user.Id, _clock);
        using var victim = new BrowserFlow(_app);
        await victim.PasswordThenStepAsync(OpenId(), user);
        var pending = victim.Cookie(PendingCookieName)!;

        using var attacker = new BrowserFlow(_app);
        attacker.PlantCookie(PendingCookieName, pending);
        attacker.PlantCookie("authly_session", pending); // and as a session cookie
        Assert.That(BrowserFlow.IsLoginPage(await BrowserFlow.HtmlAsync(await attacker.GetAsync(OpenId().Url))), Is.True, "authorize asks for a login");
        Assert.That((await attacker.GetAsync("/account/mfa")).Headers.Location!.OriginalString, Does.StartWith("/login"), "the account page asks for a login");
        Assert.That(await SessionsAsync(user.Id), Is.Zero);
    }

    [Test, Description("A planted (invented) pending cookie finishes nothing, even with a valid code of a real user")]
    public async Task PlantedPendingCookie_IsRefused()
    {
        var user = await _app.RegisterUserAsync();
        var secret = await _app.EnrolTotpAsync(user.Id, _clock);
        using var victim = new BrowserFlow(_app);
        var step = await victim.PasswordThenStepAsync(OpenId(), user);

        using var attacker = new BrowserFlow(_app);
        attacker.PlantCookie(PendingCookieName, "invented-" + Guid.NewGuid().ToString("N"));
        attacker.PlantCookie(Authly.Server.Http.Csrf.CookieName, victim.Cookie(Authly.Server.Http.Csrf.CookieName)!);
        var response = await attacker.SubmitSecondFactorAsync(step, SecondFactorFlow.Code(secret, _clock));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(BrowserFlow.IsLoginPage(await response.Content.ReadAsStringAsync()), Is.True);
        Assert.That(attacker.Cookie("authly_session"), Is.Null);
        Assert.That(await SessionsAsync(user.Id), Is.Zero);
    }

    [Test, Description("One user's pending login is not finished by another user's valid code")]
    public async Task PendingLogin_WithAnotherUsersCode_IsRefused()
    {
        var victim = await _app.RegisterUserAsync();
        await _app.EnrolTotpAsync(victim.Id, _clock);
        var attackerUser = await _app.RegisterUserAsync();
        var attackerSecret = await _app.EnrolTotpAsync(attackerUser.Id, _clock);
        using var browser = new BrowserFlow(_app);
        var step = await browser.PasswordThenStepAsync(OpenId(), victim);
        var response = await browser.SubmitSecondFactorAsync(step, SecondFactorFlow.Code(attackerSecret, _clock));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await SessionsAsync(victim.Id), Is.Zero);
    }

    [Test, Description("RFC 6749 §10.10 for codes: a parallel burst of guesses evaluates at most the limit, then 429 with Retry-After")]
    public async Task GuessingBurst_GetsNoMoreTriesThanTheLimit_AndTheRightCodeIsThenLocked()
    {
        var user = await _app.RegisterUserAsync();
        var secret = await _app.EnrolTotpAsync(user.Id, _clock);
        using var browser = new BrowserFlow(_app);
        var step = await browser.PasswordThenStepAsync(OpenId(), user);
        var right = SecondFactorFlow.Code(secret, _clock);
        var guesses = Enumerable.Range(0, 30).Select(i => ((int.Parse(right) + 1 + i * 7919) % 1_000_000).ToString("D6")).Where(g => g != right).ToList();
        var answers = await Task.WhenAll(guesses.Select(g => browser.SubmitSecondFactorAsync(step, g)));
        var evaluated = answers.Count(a => a.StatusCode == HttpStatusCode.Unauthorized);
        Assert.That(evaluated, Is.LessThanOrEqualTo(MaxAttempts), "guesses evaluated");
        Assert.That(answers.Count(a => a.StatusCode == HttpStatusCode.TooManyRequests), Is.EqualTo(guesses.Count - evaluated));
        var locked = await browser.SubmitSecondFactorAsync(step, right);
        Assert.That(locked.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "locked even for the right code");
        Assert.That(locked.Headers.RetryAfter, Is.Not.Null);
        // A fresh password login does not give the guesser a fresh budget.
        using var again = new BrowserFlow(_app);
        var step2 = await again.PasswordThenStepAsync(OpenId(), user);
        Assert.That((await again.SubmitSecondFactorAsync(step2, right)).StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(await SessionsAsync(user.Id), Is.Zero);
    }

    [Test, Description("RFC 6238 §5.2: a code seen by an attacker (shoulder, phishing relay) after the user used it is refused")]
    public async Task ReplayedCode_IsRefused()
    {
        var user = await _app.RegisterUserAsync();
        var secret = await _app.EnrolTotpAsync(user.Id, _clock);
        var code = SecondFactorFlow.Code(secret, _clock);
        using var victim = new BrowserFlow(_app);
        Assert.That((await victim.SubmitSecondFactorAsync(await victim.PasswordThenStepAsync(OpenId(), user), code)).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        // An older code of the window is refused too: the accepted step only moves forward.
        _clock.Advance(TimeSpan.FromSeconds(-30));
        var older = SecondFactorFlow.Code(secret, _clock);
        _clock.Advance(TimeSpan.FromSeconds(30));
        using var attacker = new BrowserFlow(_app);
        var step = await attacker.PasswordThenStepAsync(OpenId(), user);
        Assert.That((await attacker.SubmitSecondFactorAsync(step, code)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await attacker.SubmitSecondFactorAsync(step, older)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(attacker.Cookie("authly_session"), Is.Null);
    }

    [Test, Description("Recovery codes are single-use, also when two browsers race with the same code")]
    public async Task RecoveryCode_Reused_IsRefused()
    {
        var user = await _app.RegisterUserAsync();
        await _app.EnrolTotpAsync(user.Id, _clock);
        var code = (await _app.RecoveryCodesAsync(user.Id))[0];
        using var a = new BrowserFlow(_app);
        using var b = new BrowserFlow(_app);
        var stepA = await a.PasswordThenStepAsync(OpenId(), user);
        var stepB = await b.PasswordThenStepAsync(OpenId(), user);
        var both = await Task.WhenAll(a.SubmitSecondFactorAsync(stepA, code, SecondFactors.RecoveryCode),
            b.SubmitSecondFactorAsync(stepB, code.ToLowerInvariant().Replace("-", " "), SecondFactors.RecoveryCode));
        Assert.That(both.Count(r => r.StatusCode == HttpStatusCode.Redirect), Is.EqualTo(1), "one use");
        Assert.That(both.Count(r => r.StatusCode == HttpStatusCode.Unauthorized), Is.EqualTo(1));
        using var c = new BrowserFlow(_app);
        var stepC = await c.PasswordThenStepAsync(OpenId(), user);
        Assert.That((await c.SubmitSecondFactorAsync(stepC, code, SecondFactors.RecoveryCode)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await SessionsAsync(user.Id), Is.EqualTo(1));
    }

    [Test, Description("amr downgrade: the password grant gives no token (and so no pwd-only login) to an account with a second factor")]
    public async Task PasswordGrant_DowngradeOfAnEnrolledAccount_IsRefused()
    {
        var user = await _app.RegisterUserAsync();
        await _app.EnrolTotpAsync(user.Id, _clock);
        var response = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", user.Username), ("password", user.Password),
            ("scope", "openid"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(body.ContainsKey("access_token") || body.ContainsKey("id_token"), Is.False);
        using var browser = new BrowserFlow(_app);
        Assert.That(await browser.ScalarAsync<long>("SELECT count(*) FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id WHERE f.user_id = @Id",
            new { user.Id }), Is.Zero);
    }

    private const string PendingCookieName = "authly_mfa_pending";
}
