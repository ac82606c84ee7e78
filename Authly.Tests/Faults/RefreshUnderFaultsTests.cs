using System.Diagnostics;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;
using static Authly.Tests.Faults.FaultCluster;

namespace Authly.Tests.Faults;

/// <summary>
/// Issue 12 finding 5: refresh is one transaction and retry-safe. Exactly one parallel refresh wins and nothing burns;
/// a node dying after its rotation reached PostgreSQL does not burn the family; a family revoked while it is being
/// refreshed leaves no access token of it alive.
/// </summary>
[TestFixture, Category("Faults"), NonParallelizable]
public sealed class RefreshUnderFaultsTests
{
    private FaultCluster _cluster = null!;
    private AuthlyApp _a = null!;
    private AuthlyApp _b = null!;
    private HttpClient _httpA = null!;
    private HttpClient _httpB = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _cluster = await FaultCluster.StartAsync();
        _a = await _cluster.StartAppAsync();
        _b = await _cluster.StartAppAsync();
        _httpA = _a.CreateClient();
        _httpB = _b.CreateClient();
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _cluster.DisposeAsync();

    private (string, HttpClient)[] Nodes => [("A", _httpA), ("B", _httpB)];

    private Task<bool> FamilyRevokedAsync(Guid userId) =>
        _cluster.Sql<bool>("SELECT bool_or(revoked_at IS NOT NULL) FROM refresh_token_families WHERE user_id = @UserId", new { UserId = userId });

    [Test, Description("Issue 12 finding 5, OAuth 2.1 §4.3.1: 20 parallel refreshes of one token on two nodes: one new token, no burned family")]
    public async Task TwentyParallelRefreshesOfOneToken_AcrossTwoNodes_YieldExactlyOneNewRefreshToken_AndTheFamilyIsNotRevoked()
    {
        var user = await _a.CreateUserAsync();
        var first = await SignInAsync(_httpA, user.Username, user.Password);
        var refresh = AuthlyApp.Str(first, "refresh_token");

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => RefreshAsync(i % 2 == 0 ? _httpA : _httpB, refresh)));
        Record("20 parallel refreshes: " + string.Join(", ", answers.GroupBy(a => a.Status).Select(g => $"{g.Key}×{g.Count()}")));
        Assert.That(answers.Select(a => a.Status), Has.All.EqualTo(200).Or.EqualTo(400), "a clean answer or the same answer, never a 5xx");
        foreach (var bad in answers.Where(a => a.Status == 400))
            Assert.That(bad.Body["error"]?.GetValue<string>(), Is.EqualTo("invalid_grant"), bad.Body.ToJsonString());
        var winners = answers.Where(a => a.Status == 200).ToList();
        var newTokens = winners.Select(a => AuthlyApp.Str(a.Body, "refresh_token")).Distinct().ToList();
        Assert.That(newTokens, Has.Count.EqualTo(1), "exactly one new refresh token among all answers");

        Assert.That(await FamilyRevokedAsync(user.Id), Is.False, "parallel refreshes burned the family (treated as reuse)");
        var (next, nextBody, _) = await RefreshAsync(_httpB, newTokens[0]);
        Assert.That(next, Is.EqualTo(200), "the winner's refresh token must refresh: " + nextBody.ToJsonString());
        var access = winners.Select(w => AuthlyApp.Str(w.Body, "access_token")).Distinct().Append(AuthlyApp.Str(nextBody, "access_token"));
        foreach (var (name, http) in Nodes)
            foreach (var t in access) Assert.That(await ActiveAsync(http, t), Is.True, $"an access token of the live family inactive on {name}");
    }

    [Test, Description("Issue 12 finding 5: a node killed after its rotation reached PostgreSQL; the client's retry elsewhere does not burn the family")]
    public async Task NodeKilledMidRefresh_AfterTheRotationReachedPostgres_RetryOnTheOtherNodeDoesNotBurnTheFamily()
    {
        var started = Stopwatch.StartNew();
        var victim = await _cluster.StartProcessAsync();
        Record("node process start to ready", started.Elapsed);
        var user = await _a.CreateUserAsync();
        var first = await SignInAsync(_httpA, user.Username, user.Password);
        var refresh = AuthlyApp.Str(first, "refresh_token");

        // The rotation statement reaches PostgreSQL and runs; its answer never comes back: the node hangs in flight.
        // Committed on its own (autocommit), the rotation survives the node; in one transaction, it dies with the node.
        _cluster.Database.StallRepliesAfter("SET rotated_at");
        using var victimHttp = new HttpClient { BaseAddress = new Uri(victim.Url), Timeout = TimeSpan.FromSeconds(30) };
        var inFlight = RefreshAsync(victimHttp, refresh);
        try
        {
            var reached = await Eventually.TrueAsync(() => Task.FromResult(_cluster.Database.MarkerSeen), TimeSpan.FromSeconds(15));
            Assert.That(reached, Is.True, "the refresh on the victim never sent its rotation ('SET rotated_at') to PostgreSQL");
            Record("rotation reached PostgreSQL, answer held; killing the node", started.Elapsed);
            victim.Kill();
        }
        finally { _cluster.Database.Resume(); }
        Assert.That(async () => await inFlight, Throws.InstanceOf<HttpRequestException>().Or.InstanceOf<TaskCanceledException>(),
            "the killed node cannot have answered");

        var watch = Stopwatch.StartNew();
        var (retry, retryBody, _) = await RefreshAsync(_httpB, refresh);
        Record($"retry on the other node after the kill answered {retry}", watch.Elapsed);
        Assert.That(retry, Is.EqualTo(200).Or.EqualTo(400), "the same answer or a clean error: " + retryBody.ToJsonString());
        Assert.That(await FamilyRevokedAsync(user.Id), Is.False, "the retry was treated as reuse: the family is burned");
        Assert.That(await ActiveAsync(_httpA, AuthlyApp.Str(first, "access_token")), Is.True, "the family's access token was revoked");
        if (retry == 200)
        {
            var (next, nextBody, _) = await RefreshAsync(_httpA, AuthlyApp.Str(retryBody, "refresh_token"));
            Assert.That(next, Is.EqualTo(200), "the latest refresh token must work: " + nextBody.ToJsonString());
        }
        else Assert.That(retryBody["error"]?.GetValue<string>(), Is.EqualTo("invalid_grant"), retryBody.ToJsonString());
    }

    [Test, Description("Issue 12 finding 5: a family revoked while it is being refreshed leaves no access token of it active on any node")]
    public async Task RefreshInParallelWithRevocationOfTheFamily_TwentyTrials_NoAccessTokenOfTheFamilyStaysActive()
    {
        var user = await _a.CreateUserAsync();
        var access = new List<string>();
        var outcomes = new List<string>();
        for (var trial = 0; trial < 20; trial++)
        {
            var tokens = await SignInAsync(_httpA, user.Username, user.Password);
            var refresh = AuthlyApp.Str(tokens, "refresh_token");
            access.Add(AuthlyApp.Str(tokens, "access_token"));
            var refreshing = RefreshAsync(_httpA, refresh);
            var revoking = PostAsync(_httpB, "/api/v1/oauth/revoke", null, ("token", refresh), ("token_type_hint", "refresh_token"));
            await Task.WhenAll(refreshing, revoking);
            var (status, body, _) = await refreshing;
            Assert.That(status, Is.EqualTo(200).Or.EqualTo(400), body.ToJsonString());
            Assert.That((await revoking).Status, Is.EqualTo(200), "RFC 7009 §2.2");
            if (status == 200) access.Add(AuthlyApp.Str(body, "access_token"));
            outcomes.Add(status.ToString());
        }
        Record("refresh ∥ revoke, refresh answered: " + string.Join(",", outcomes.GroupBy(o => o).Select(g => $"{g.Key}×{g.Count()}")));
        var watch = Stopwatch.StartNew();
        var still = await StillActiveAfterAsync(TimeSpan.FromSeconds(10), Nodes, access);
        Record("all access tokens of 20 revoked families inactive on both nodes", watch.Elapsed);
        Assert.That(still, Is.Empty, "an access token issued concurrently with the family's revocation outlived it");
    }
}
