using Authly.Cluster;
using Authly.Storage;
using Authly.Tests.Infrastructure;
using Authly.Tokens;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using StackExchange.Redis;

namespace Authly.Tests.Stores;

/// <summary>
/// A revoked access token is refused on every node: at once over the Redis bus, and within the
/// periodic database sync when an announcement is lost.
/// </summary>
[TestFixture, Category("Core")]
public sealed class RevocationListTests
{
    private readonly List<IDisposable> _disposables = [];
    private NpgsqlDataSource _db = null!;
    private string _cs = null!;

    [SetUp]
    public async Task CreateDatabaseAsync()
    {
        _cs = await TestServers.CreateDatabaseAsync();
        _db = NpgsqlDataSource.Create(_cs);
    }

    [TearDown]
    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        foreach (var d in _disposables) d.Dispose();
        _disposables.Clear();
    }

    private RevocationList Node(IClusterBus bus, TimeProvider? clock = null)
    {
        var db = NpgsqlDataSource.Create(_cs);
        _disposables.Add(db);
        return new RevocationList(db, bus, clock ?? TimeProvider.System, NullLogger<RevocationList>.Instance);
    }

    private async Task<IClusterBus> RedisBusAsync(string prefix)
    {
        var redis = await ConnectionMultiplexer.ConnectAsync(RedisUrl.Parse(TestServers.RedisUrl));
        _disposables.Add(redis);
        return new RedisClusterBus(redis, prefix);
    }

    private static string Jti() => Guid.NewGuid().ToString("N");
    private static DateTimeOffset InAnHour => DateTimeOffset.UtcNow.AddHours(1);
    private static readonly CancellationToken None = CancellationToken.None;

    [Test]
    public async Task Revoke_IsSeenAtOnceOnTheSameNode()
    {
        var node = Node(new LocalClusterBus());
        var jti = Jti();
        Assert.That(await node.IsRevokedAsync(jti, None), Is.False);
        await node.RevokeAsync(jti, InAnHour, None);
        Assert.That(await node.IsRevokedAsync(jti, None), Is.True);
        Assert.That(await node.IsRevokedAsync(Jti(), None), Is.False, "only that token");
    }

    [Test]
    public async Task Revoke_IsSeenByAnotherNodeOverRedisWithinASecond()
    {
        var prefix = $"t{Guid.NewGuid():N}:";
        var nodeA = Node(await RedisBusAsync(prefix));
        // Node B's clock stands still, so its periodic database sync never runs: only the bus can tell it.
        var nodeB = Node(await RedisBusAsync(prefix), new TestClock(DateTimeOffset.UtcNow));
        var jti = Jti();
        Assert.That(await nodeB.IsRevokedAsync(jti, None), Is.False, "node B has loaded its list");

        await nodeA.RevokeAsync(jti, InAnHour, None);

        Assert.That(await Eventually.TrueAsync(() => nodeB.IsRevokedAsync(jti, None).AsTask(), TimeSpan.FromSeconds(2)), Is.True);
    }

    [Test]
    public async Task Revoke_IsSeenByAnotherNodeThroughTheDatabaseSync_WhenTheAnnouncementIsLost()
    {
        var nodeA = Node(new SilentClusterBus());
        var clockB = new TestClock(DateTimeOffset.UtcNow);
        var nodeB = Node(new SilentClusterBus(), clockB);
        var jti = Jti();
        Assert.That(await nodeB.IsRevokedAsync(jti, None), Is.False);

        await nodeA.RevokeAsync(jti, InAnHour, None);
        Assert.That(await nodeB.IsRevokedAsync(jti, None), Is.False, "no announcement and no sync yet");

        // The sync interval passes on node B; the sync itself runs in the background.
        clockB.Advance(TimeSpan.FromSeconds(6));
        Assert.That(await Eventually.TrueAsync(() => nodeB.IsRevokedAsync(jti, None).AsTask(), TimeSpan.FromSeconds(5)), Is.True);
    }

    [Test]
    public async Task NewNode_LoadsEarlierRevocationsFromTheDatabaseOnFirstUse()
    {
        var jti = Jti();
        await Node(new SilentClusterBus()).RevokeAsync(jti, InAnHour, None);
        Assert.That(await Node(new SilentClusterBus()).IsRevokedAsync(jti, None), Is.True);
    }

    [Test]
    public async Task Revoke_OfAnAlreadyExpiredToken_StoresNothing()
    {
        var jti = Jti();
        await Node(new SilentClusterBus()).RevokeAsync(jti, DateTimeOffset.UtcNow.AddSeconds(-1), None);
        await using var conn = await _db.OpenConnectionAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM revoked_tokens WHERE jti = $1", conn) { Parameters = { new() { Value = jti } } };
        Assert.That(await count.ExecuteScalarAsync(), Is.EqualTo(0L));
    }

    [Test]
    public async Task Revoke_Twice_IsHarmless()
    {
        var node = Node(new LocalClusterBus());
        var jti = Jti();
        await node.RevokeAsync(jti, InAnHour, None);
        Assert.DoesNotThrowAsync(() => node.RevokeAsync(jti, InAnHour, None));
        Assert.That(await node.IsRevokedAsync(jti, None), Is.True);
    }

    [Test, Description("Issue 14: the in-memory set is bounded by live revocations: an entry goes at its token's exp (the lifetime check refuses the token from then on)")]
    public async Task Entry_IsDroppedAtItsTokensExp()
    {
        var clock = new TestClock(DateTimeOffset.UtcNow);
        var node = Node(new SilentClusterBus(), clock);
        var shortLived = Jti();
        await node.RevokeAsync(shortLived, clock.GetUtcNow().AddSeconds(30), None);
        await node.RevokeAsync(Jti(), clock.GetUtcNow().AddHours(1), None);
        Assert.That(node.Count, Is.EqualTo(2));

        clock.Advance(TimeSpan.FromSeconds(31));

        // The next check starts the due re-read in the background, which drops what has expired on this node's clock.
        Assert.That(await Eventually.TrueAsync(async () => { await node.IsRevokedAsync(Jti(), None); return node.Count == 1; }, TimeSpan.FromSeconds(5)), Is.True,
            $"held: {node.Count}");
        Assert.That(await node.IsRevokedAsync(shortLived, None), Is.False, "dropped, not merely hidden");
    }

    [Test, Description("Issue 14 (flat cost): a table of a deployment's revocations is mostly expired rows the sweeper has not reached; a node loads and holds the live ones only")]
    public async Task Load_FromATableOfMostlyExpiredRows_HoldsOnlyTheLiveOnes()
    {
        await using (var conn = await _db.OpenConnectionAsync())
        await using (var seed = new NpgsqlCommand("""
            INSERT INTO revoked_tokens (jti, expires_at, revoked_at)
            SELECT 'expired-' || n, now() - make_interval(secs => 1 + n), now() - make_interval(secs => 3600 + n) FROM generate_series(1, 20000) n
            UNION ALL
            SELECT 'live-' || n, now() + interval '1 hour', now() - make_interval(secs => n) FROM generate_series(1, 100) n
            """, conn))
            await seed.ExecuteNonQueryAsync();

        var node = Node(new SilentClusterBus());
        await node.LoadAsync(None);

        Assert.That(node.Count, Is.EqualTo(100), "the 20,000 expired rows are not held");
        Assert.That(await node.IsRevokedAsync("live-7", None), Is.True);
        Assert.That(await node.IsRevokedAsync("expired-7", None), Is.False, "refused by its lifetime, not by the set");
    }

    [Test, Description("Issue 14: a node that only hears announcements (and checks no token) still drops expired entries, and never takes in one already expired")]
    public async Task Announcements_OnANodeThatChecksNothing_StayBoundedByLiveRevocations()
    {
        var bus = new LocalClusterBus();
        var clockB = new TestClock(DateTimeOffset.UtcNow);
        var nodeA = Node(bus);
        var nodeB = Node(bus, clockB);
        for (var i = 0; i < 50; i++) await nodeA.RevokeAsync(Jti(), DateTimeOffset.UtcNow.AddSeconds(30), None);
        Assert.That(nodeB.Count, Is.EqualTo(50), "heard over the bus");

        // Past every 30-second entry however long the 50 revocations took on a loaded machine (each is a database
        // write: their exps spread over that time), and still before the hour-long one below.
        clockB.Advance(TimeSpan.FromMinutes(10));
        await nodeA.RevokeAsync(Jti(), DateTimeOffset.UtcNow.AddHours(1), None);
        await bus.PublishAsync("revoked", $"{Jti()}|{DateTimeOffset.UtcNow.AddSeconds(10).ToUnixTimeSeconds()}");

        Assert.That(nodeB.Count, Is.EqualTo(1), "only the live revocation is held; the expired ones and the announcement of an expired token are not");
    }
}
