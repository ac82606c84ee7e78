using System.Net;
using System.Net.Http.Json;
using Authly.Tests.Infrastructure;
using Authly.Users;
using Microsoft.Extensions.DependencyInjection;

namespace Authly.Tests.Attacks;

/// <summary>
/// Online password guessing (RFC 6749 §10.10 "Credentials-Guessing Attacks", RFC 9700 §4.15 for
/// the password grant): every place that checks a password goes through one guard that reserves
/// the attempt before the slow verification, per username and per client address.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class CredentialGuessingAttacks
{
    private static Task<HttpResponseMessage> GrantAsync(HttpClient http, string username, string password) =>
        http.PostAsync(TokenPath, AuthlyApp.Form(("grant_type", "password"), ("username", username), ("password", password)));

    [Test, Description("RFC 6749 §10.10: guessing current_password on change-password is limited like a login, and locks the password grant too")]
    public async Task GuessingThroughChangePassword_IsLockedAfterTheLimit_AndLocksThePasswordGrant()
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "3" });
        var user = await app.RegisterUserAsync();
        // A first-party (CLI) token, the kind that may change the password: the attacker stole it, not the password.
        var token = AuthlyApp.Str(await app.PasswordTokenAsync(user.Username, user.Password), "access_token");
        var http = app.BearerClient(token);

        for (var i = 1; i <= 3; i++)
        {
            var wrong = await http.PostAsJsonAsync("/api/v1/auth/change-password", new { current_password = $"guess-{i}-xyz", new_password = "Attacker-Pass-1" });
            Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await wrong.Content.ReadAsStringAsync());
        }
        var locked = await http.PostAsJsonAsync("/api/v1/auth/change-password", new { current_password = user.Password, new_password = "Attacker-Pass-1" });
        var lockedBody = await locked.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(locked.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), lockedBody);
            Assert.That(locked.Headers.RetryAfter?.Delta?.TotalSeconds, Is.InRange(1, 300), "Retry-After");
            // The guard's own code on the API, not the rate limiter's (issue 13: one throttling signal, mapped per transport).
            Assert.That(lockedBody, Does.Contain("\"error_code\":\"TOO_MANY_ATTEMPTS\""));
        });
        // The same guard: the password grant is locked as well, even with the right password…
        await OAuthAssert.ErrorAsync(await GrantAsync(app.CreateClient(), user.Username, user.Password), HttpStatusCode.TooManyRequests, "invalid_grant");
        // …and nothing changed: the old password is still the one (checked through the store, not a login).
        var stored = await app.Services.GetRequiredService<UserStore>().FindByIdAsync(user.Id, CancellationToken.None);
        Assert.That(app.Services.GetRequiredService<Authly.Security.PasswordHasher>().Verify(user.Password, stored!.PasswordHash), Is.True);
    }

    [Test, Description("RFC 6749 §10.10: a locked username spelled with a non-ASCII look-alike (admİn for admin) is not a fresh lockout budget for the same account")]
    public async Task LockedUsername_SpelledWithDottedCapitalI_DoesNotReachTheAccount()
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "3" });
        var user = await app.CreateUserAsync(username: "william_" + Guid.NewGuid().ToString("N")[..6]);
        var http = app.CreateClient();
        for (var i = 0; i < 3; i++) await GrantAsync(http, user.Username, "wrong-" + i);
        await OAuthAssert.ErrorAsync(await GrantAsync(http, user.Username, user.Password), HttpStatusCode.TooManyRequests, "invalid_grant");
        // PostgreSQL's lower() under a glibc locale folds İ to i, the counters' invariant lower-casing does not: the
        // look-alike must be an unknown user, never the locked account under a lockout key of its own.
        var lookAlike = user.Username.Replace('i', '\u0130');
        await OAuthAssert.ErrorAsync(await GrantAsync(http, lookAlike, user.Password), HttpStatusCode.BadRequest, "invalid_grant", PasswordLogin.BadCredentials);
        Assert.That(UserRules.IsValidUsername(lookAlike), Is.False);
    }

    [TestCase(true, TestName = "ConcurrentWrongPasswords_WithRedis_AreEvaluatedAtMostTheLimit")]
    [TestCase(false, TestName = "ConcurrentWrongPasswords_InProcess_AreEvaluatedAtMostTheLimit")]
    [Description("RFC 6749 §10.10 / RFC 9700 §4.15: the attempt is reserved atomically before the slow check, so a burst cannot outrun the lockout")]
    public async Task ConcurrentWrongPasswords_AreEvaluatedAtMostTheLimit(bool withRedis)
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "10" }, withRedis);
        var user = await app.CreateUserAsync();
        var evaluated = 0;
        app.Services.GetRequiredService<PasswordLogin>().Attempted += outcome =>
        {
            if (outcome == "failure") Interlocked.Increment(ref evaluated);
        };

        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => GrantAsync(app.CreateClient(), user.Username, $"wrong-{i}")));

        var statuses = responses.Select(r => (int)r.StatusCode).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(evaluated, Is.LessThanOrEqualTo(10), "passwords verified");
            Assert.That(statuses.Count(s => s == 400), Is.LessThanOrEqualTo(10), string.Join(",", statuses));
            Assert.That(statuses.Count(s => s == 429), Is.GreaterThanOrEqualTo(30), string.Join(",", statuses));
        });
    }

    [Test, Description("RFC 6749 §10.10: one address guessing across many usernames is stopped by the per-address limit")]
    public async Task GuessingAcrossManyUsernames_FromOneAddress_IsRefusedAfterThePerAddressLimit()
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?>
        {
            ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "10", ["AUTHLY_LOCKOUT_IP_MAX_ATTEMPTS"] = "5",
        });
        using var remote = app.WithPeerAddressHeader();
        HttpClient From(string ip)
        {
            var http = remote.CreateClient();
            http.DefaultRequestHeaders.Add(TestPeerAddress.Header, ip);
            return http;
        }
        var users = new List<AuthlyApp.TestUser>();
        for (var i = 0; i < 7; i++) users.Add(await app.CreateUserAsync());

        for (var i = 0; i < 5; i++)
            await OAuthAssert.ErrorAsync(await GrantAsync(From("203.0.113.7"), users[i].Username, "wrong"), HttpStatusCode.BadRequest, "invalid_grant");
        // A sixth username, never tried before, with its right password: the address is refused.
        var refused = await GrantAsync(From("203.0.113.7"), users[5].Username, users[5].Password);
        await OAuthAssert.ErrorAsync(refused, HttpStatusCode.TooManyRequests, "invalid_grant");
        Assert.That(refused.Headers.RetryAfter?.Delta, Is.Not.Null, "Retry-After");
        // Another address, and the same username from it, are not affected.
        await OAuthAssert.TokenAsync(await GrantAsync(From("198.51.100.9"), users[6].Username, users[6].Password));
        await OAuthAssert.TokenAsync(await GrantAsync(From("198.51.100.9"), users[5].Username, users[5].Password));
    }

    [Test, Description("RFC 6749 §10.10: the login page and the password grant count toward the same lock, both ways")]
    public async Task LoginPageAndPasswordGrant_ShareOneGuard()
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "3" });
        var user = await app.RegisterUserAsync();
        using var browser = new BrowserFlow(app);
        var page = await BrowserFlow.HtmlAsync(await browser.GetAsync("/login?return_to=%2Fdevice"));
        for (var i = 0; i < 2; i++)
        {
            var failed = await browser.SubmitLoginAsync(page, user.Username, $"wrong-{i}");
            Assert.That(failed.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            page = await failed.Content.ReadAsStringAsync();
        }
        await OAuthAssert.ErrorAsync(await GrantAsync(app.CreateClient(), user.Username, "wrong-2"), HttpStatusCode.BadRequest, "invalid_grant");
        // Three failures between the two doors: both are locked now, even with the right password.
        await OAuthAssert.ErrorAsync(await GrantAsync(app.CreateClient(), user.Username, user.Password), HttpStatusCode.TooManyRequests, "invalid_grant");
        var lockedPage = await browser.SubmitLoginAsync(page, user.Username, user.Password);
        Assert.That(lockedPage.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(lockedPage.Headers.RetryAfter?.Delta, Is.Not.Null, "Retry-After");
    }

    [Test, Description("RFC 6749 §10.10: an honest user's success clears the username's failures (no lock after fewer than the limit)")]
    public async Task HonestUser_SuccessBetweenFailures_KeepsSigningIn()
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "3" });
        var user = await app.CreateUserAsync();
        for (var round = 0; round < 3; round++)
        {
            await OAuthAssert.ErrorAsync(await GrantAsync(app.CreateClient(), user.Username, "typo-1"), HttpStatusCode.BadRequest, "invalid_grant");
            await OAuthAssert.ErrorAsync(await GrantAsync(app.CreateClient(), user.Username, "typo-2"), HttpStatusCode.BadRequest, "invalid_grant");
            await OAuthAssert.TokenAsync(await GrantAsync(app.CreateClient(), user.Username, user.Password));
        }
    }
}
