using System.Diagnostics;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;
using static Authly.Tests.Faults.FaultCluster;

namespace Authly.Tests.Faults;

/// <summary>
/// Issue 12 findings 1 and 2: Redis killed (SIGKILL) and restarted while two nodes revoke, detect reuse and count
/// failed sign-ins. Security state must never weaken: revocations complete in PostgreSQL, locks hold.
/// </summary>
[TestFixture, Category("Faults"), NonParallelizable]
public sealed class RedisOutageTests
{
    private const int MaxAttempts = 3;
    private FaultCluster _cluster = null!;
    private AuthlyApp _a = null!;
    private AuthlyApp _b = null!;
    private HttpClient _httpA = null!;
    private HttpClient _httpB = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _cluster = await FaultCluster.StartAsync(new Dictionary<string, string>
        {
            ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = MaxAttempts.ToString(),
            // Limits on but out of reach: (f) checks only that a limiter without Redis still answers.
            ["RATE_LIMIT_MAX_REQUESTS"] = "100000",
            // The reuse below comes seconds after the rotation; without this it would be a graceful retry, not reuse.
            ["AUTHLY_REFRESH_RETRY_GRACE_SECONDS"] = "0",
        });
        _a = await _cluster.StartAppAsync();
        _b = await _cluster.StartAppAsync();
        _httpA = _a.CreateClient();
        _httpB = _b.CreateClient();
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _cluster.DisposeAsync();

    private (string, HttpClient)[] Nodes => [("A", _httpA), ("B", _httpB)];

    /// <summary>Kills Redis, runs <paramref name="during"/>, restarts Redis (also when the body fails) and waits until both nodes see it again.</summary>
    private async Task DuringOutageAsync(Func<Task> during)
    {
        await _cluster.Redis.KillAsync();
        try { await during(); }
        finally
        {
            var back = Stopwatch.StartNew();
            await _cluster.Redis.RestartAsync();
            var healthy = await Eventually.TrueAsync(async () =>
            {
                foreach (var (_, http) in Nodes)
                    if (!(await http.GetStringAsync("/health")).Contains("\"redis\":\"connected\"")) return false;
                return true;
            }, TimeSpan.FromSeconds(20));
            Record($"Redis restart to both nodes reporting redis connected (healthy={healthy})", back.Elapsed);
        }
    }

    private async Task<(AuthlyApp.TestUser User, List<string> Access, string Refresh)> FamilyOfThreeAsync(string? username = null)
    {
        var user = await _a.CreateUserAsync(username: username);
        var first = await SignInAsync(_httpA, user.Username, user.Password);
        var access = new List<string> { AuthlyApp.Str(first, "access_token") };
        var refresh = AuthlyApp.Str(first, "refresh_token");
        foreach (var http in new[] { _httpB, _httpA })
        {
            var (status, body, _) = await RefreshAsync(http, refresh);
            Assert.That(status, Is.EqualTo(200), body.ToJsonString());
            access.Add(AuthlyApp.Str(body, "access_token"));
            refresh = AuthlyApp.Str(body, "refresh_token");
        }
        return (user, access, refresh);
    }

    [Test, Description("Issue 12 finding 1, RFC 7009 §2.1: revoking a refresh token revokes its family's access tokens, complete without Redis")]
    public async Task RevokeRefreshToken_WhileRedisIsDown_Answers200_AndEveryAccessTokenOfTheFamilyIsInactiveOnBothNodes_AlsoAfterRedisReturns()
    {
        var (_, access, refresh) = await FamilyOfThreeAsync();
        foreach (var (name, http) in Nodes)
            foreach (var t in access) Assert.That(await ActiveAsync(http, t), Is.True, $"precondition: active on {name}");

        await DuringOutageAsync(async () =>
        {
            var watch = Stopwatch.StartNew();
            var (status, body, _) = await PostAsync(_httpA, "/api/v1/oauth/revoke", null, ("token", refresh), ("token_type_hint", "refresh_token"));
            Record($"revoke while Redis is down answered {status}", watch.Elapsed);
            Assert.That(status, Is.EqualTo(200), "RFC 7009 §2.2: " + body.ToJsonString());
            // B learns of it without the bus only from its periodic re-read of PostgreSQL.
            watch.Restart();
            var still = await StillActiveAfterAsync(TimeSpan.FromSeconds(15), Nodes, access);
            Record("revoked family inactive on both nodes without Redis", watch.Elapsed);
            Assert.That(still, Is.Empty, "access tokens of the revoked family still active during the outage");
            var (refreshStatus, _, _) = await RefreshAsync(_httpB, refresh);
            Assert.That(refreshStatus, Is.EqualTo(400), "the revoked refresh token must not refresh");
        });
        var after = await StillActiveAfterAsync(TimeSpan.FromSeconds(2), Nodes, access);
        Assert.That(after, Is.Empty, "a revocation made during the outage must survive Redis's return");
    }

    [Test, Description("Issue 12 finding 1: the admin 'end sessions and revoke tokens' is complete without Redis, and only then says so")]
    public async Task AdminEndsUserSessions_WhileRedisIsDown_Answers2xx_AndAllTheUsersTokensAreInactiveOnBothNodes()
    {
        var admin = _a.BearerClient(await _a.AdminTokenAsync("admin:users:write admin:users:read"));
        var user = await _a.CreateUserAsync();
        var tokens = new List<string>();
        foreach (var http in new[] { _httpA, _httpB, _httpA })
        {
            var t = await SignInAsync(http, user.Username, user.Password);
            tokens.Add(AuthlyApp.Str(t, "access_token"));
        }

        await DuringOutageAsync(async () =>
        {
            var watch = Stopwatch.StartNew();
            var response = await admin.DeleteAsync($"/admin/users/{user.Id}/sessions");
            Record($"admin end-sessions while Redis is down answered {(int)response.StatusCode}", watch.Elapsed);
            Assert.That((int)response.StatusCode, Is.InRange(200, 299), await response.Content.ReadAsStringAsync());
            var still = await StillActiveAfterAsync(TimeSpan.FromSeconds(15), Nodes, tokens);
            Assert.That(still, Is.Empty, "the user's tokens still active during the outage");
        });
        Assert.That(await StillActiveAfterAsync(TimeSpan.FromSeconds(2), Nodes, tokens), Is.Empty, "after Redis returned");
    }

    [Test, Description("Issue 12 finding 1, OAuth 2.1 §4.3.1: refresh-token reuse revokes the family, completely, without Redis")]
    public async Task RefreshTokenReuse_WhileRedisIsDown_IsInvalidGrant_AndTheFamilysAccessTokensAreInactiveOnBothNodes()
    {
        var user = await _a.CreateUserAsync();
        var first = await SignInAsync(_httpA, user.Username, user.Password);
        var oldRefresh = AuthlyApp.Str(first, "refresh_token");
        var (status, rotated, _) = await RefreshAsync(_httpB, oldRefresh);
        Assert.That(status, Is.EqualTo(200), rotated.ToJsonString());
        var access = new[] { AuthlyApp.Str(first, "access_token"), AuthlyApp.Str(rotated, "access_token") };

        await DuringOutageAsync(async () =>
        {
            var (reuseStatus, reuse, _) = await RefreshAsync(_httpA, oldRefresh);
            Assert.That(reuseStatus, Is.EqualTo(400), reuse.ToJsonString());
            Assert.That(reuse["error"]?.GetValue<string>(), Is.EqualTo("invalid_grant"));
            var still = await StillActiveAfterAsync(TimeSpan.FromSeconds(15), Nodes, access);
            Assert.That(still, Is.Empty, "reuse detection did not complete: access tokens of the family still active");
            var (newest, _, _) = await RefreshAsync(_httpB, AuthlyApp.Str(rotated, "refresh_token"));
            Assert.That(newest, Is.EqualTo(400), "the family is revoked: its newest refresh token must not refresh");
        });
        Assert.That(await StillActiveAfterAsync(TimeSpan.FromSeconds(2), Nodes, access), Is.Empty, "after Redis returned");
    }

    private static (string, string)[] Login(string username, string password) =>
        [("grant_type", "password"), ("username", username), ("password", password), ("scope", "account:read")];

    [Test, Description("Issue 12 finding 2: a lock taken before the outage holds during it (never read from an empty in-process store)")]
    public async Task UserLockedBeforeTheOutage_IsRefusedWithTheRightPassword_WhileRedisIsDown()
    {
        var user = await _a.CreateUserAsync();
        for (var i = 0; i < MaxAttempts; i++)
        {
            var (status, _, _) = await PostAsync(i % 2 == 0 ? _httpA : _httpB, "/api/v1/oauth/token", null, Login(user.Username, "wrong-" + i));
            Assert.That(status, Is.EqualTo(400).Or.EqualTo(429), $"guess {i + 1}");
        }
        var (locked, lockedBody, _) = await PostAsync(_httpA, "/api/v1/oauth/token", null, Login(user.Username, user.Password));
        Assert.That(locked, Is.EqualTo(429), "precondition: locked before the outage: " + lockedBody.ToJsonString());

        await DuringOutageAsync(async () =>
        {
            foreach (var (name, http) in Nodes)
            {
                var (status, body, _) = await PostAsync(http, "/api/v1/oauth/token", null, Login(user.Username, user.Password));
                Record($"locked user, right password, Redis down, node {name}: {status} {body["error"]}");
                Assert.That(body.ContainsKey("access_token"), Is.False, $"node {name} let a locked user in while Redis was down");
                Assert.That(status, Is.EqualTo(429).Or.EqualTo(503), $"node {name}: {body.ToJsonString()}");
            }
        });
    }

    [Test, Description("Issue 12 finding 2: during the outage guesses on two nodes add up to one limit, and the lock survives Redis's return")]
    public async Task WrongGuessesAlternatingBetweenNodes_WhileRedisIsDown_LockAtTheClusterLimit_AndTheLockSurvivesRedisReturning()
    {
        var user = await _a.CreateUserAsync();
        var checkedGuesses = 0;
        await DuringOutageAsync(async () =>
        {
            for (var i = 0; i < MaxAttempts; i++)
            {
                var (status, body, _) = await PostAsync(i % 2 == 0 ? _httpA : _httpB, "/api/v1/oauth/token", null, Login(user.Username, "wrong-" + i));
                Assert.That(status, Is.EqualTo(400).Or.EqualTo(429).Or.EqualTo(503), $"guess {i + 1}: {body.ToJsonString()}");
                if (status == 400) checkedGuesses++;
            }
            // Three guesses, two on A and one on B: per-node counting (2 and 1) would let the right password in on B.
            var (right, rightBody, _) = await PostAsync(_httpB, "/api/v1/oauth/token", null, Login(user.Username, user.Password));
            Record($"after {MaxAttempts} guesses on A/B without Redis ({checkedGuesses} checked), right password on B: {right}");
            Assert.That(rightBody.ContainsKey("access_token"), Is.False, "per-node counting let the guesser reach the right password");
            Assert.That(right, Is.EqualTo(429).Or.EqualTo(503), rightBody.ToJsonString());
        });
        // A guess that was checked during the outage counted; the lock it caused must not vanish with Redis's return.
        if (checkedGuesses == MaxAttempts)
            foreach (var (name, http) in Nodes)
            {
                var (status, body, _) = await PostAsync(http, "/api/v1/oauth/token", null, Login(user.Username, user.Password));
                Assert.That(body.ContainsKey("access_token"), Is.False, $"the lock taken during the outage vanished on node {name}");
                Assert.That(status, Is.EqualTo(429), $"node {name}: {body.ToJsonString()}");
            }
        else Record("password paths refused with 503 during the outage (no guess was checked), so no lock was needed");
    }

    [Test, Description("Issue 12 finding 2: rate limits may degrade to per-node counting without Redis, but every request is answered")]
    public async Task RequestsUnderRateLimiting_WhileRedisIsDown_AreAnswered_Never500()
    {
        var statuses = new List<int>();
        await DuringOutageAsync(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                var (status, _, _) = await PostAsync(i % 2 == 0 ? _httpA : _httpB, "/api/v1/oauth/revoke", null, ("token", "unknown-" + i));
                statuses.Add(status);
            }
        });
        Record("rate-limited revoke requests without Redis: " + string.Join(",", statuses.GroupBy(s => s).Select(g => $"{g.Key}×{g.Count()}")));
        Assert.That(statuses, Has.All.EqualTo(200).Or.EqualTo(429));
    }
}
