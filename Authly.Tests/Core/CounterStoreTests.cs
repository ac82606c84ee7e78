using Authly.Counters;
using Authly.Storage;
using Authly.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Authly.Tests.Core;

/// <summary>Both ICounterStore implementations behave alike: fixed-window hits, attempts reserved up to a limit then locked, release, reset.</summary>
[TestFixture, Category("Core")]
public sealed class CounterStoreTests
{
    public static readonly string[] Backends = ["in-process", "redis"];

    private static readonly TimeSpan Window = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);
    private ConnectionMultiplexer? _redis;

    [OneTimeSetUp] public async Task ConnectAsync() => _redis = await ConnectionMultiplexer.ConnectAsync(RedisUrl.Parse(TestServers.RedisUrl));
    [OneTimeTearDown] public void Disconnect() => _redis?.Dispose();

    /// <summary>
    /// A store plus a way to let time pass: the in-process store reads a TestClock, which is moved;
    /// Redis expires keys on its own clock, so there the condition is polled until it holds.
    /// </summary>
    private sealed record Backend(ICounterStore Store, TestClock? Clock)
    {
        public async Task<bool> AfterAsync(TimeSpan period, Func<Task<bool>> condition)
        {
            if (Clock is null) return await Eventually.TrueAsync(condition, period + TimeSpan.FromSeconds(5));
            Clock.Advance(period + TimeSpan.FromMilliseconds(1));
            return await condition();
        }
    }

    private Backend Create(string backend)
    {
        if (backend == "redis") return new Backend(new RedisCounterStore(_redis!, $"t{Guid.NewGuid():N}:", new InProcessCounterStore(TimeProvider.System), NullLogger<RedisCounterStore>.Instance), null);
        var clock = new TestClock(DateTimeOffset.UtcNow);
        return new Backend(new InProcessCounterStore(clock), clock);
    }

    private static readonly CancellationToken None = CancellationToken.None;

    [TestCaseSource(nameof(Backends))]
    public async Task Hit_CountsEachHitInTheWindow(string backend)
    {
        var b = Create(backend);
        var counts = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            var (count, remaining) = await b.Store.HitAsync("ip:1", Window, None);
            counts.Add(count);
            Assert.That(remaining, Is.GreaterThan(TimeSpan.Zero).And.LessThanOrEqualTo(Window));
        }
        Assert.That(counts, Is.EqualTo(new long[] { 1, 2, 3 }));
    }

    [TestCaseSource(nameof(Backends))]
    public async Task Hit_KeysAreIndependent(string backend)
    {
        var b = Create(backend);
        await b.Store.HitAsync("ip:1", Window, None);
        await b.Store.HitAsync("ip:1", Window, None);
        Assert.That((await b.Store.HitAsync("ip:2", Window, None)).Count, Is.EqualTo(1));
    }

    [TestCaseSource(nameof(Backends))]
    public async Task Hit_AfterTheWindow_StartsAgainAtOne(string backend)
    {
        var b = Create(backend);
        await b.Store.HitAsync("ip:1", Short, None);
        await b.Store.HitAsync("ip:1", Short, None);
        Assert.That(await b.AfterAsync(Short, async () => (await b.Store.HitAsync("ip:1", Short, None)).Count == 1), Is.True);
    }

    [TestCaseSource(nameof(Backends)), Description("RFC 6749 §10.10: reserved before the check, so concurrent attempts never exceed the limit")]
    public async Task Reserve_Concurrently_AdmitsExactlyTheLimitAndThenRefuses(string backend)
    {
        var b = Create(backend);
        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(() => b.Store.ReserveAsync([("login:alice", 10)], Window, None))));
        Assert.That(results.Count(r => r is null), Is.EqualTo(10));
        Assert.That(results.Where(r => r is not null).Select(r => r!.Value.Index), Is.All.EqualTo(0));
        Assert.That(results.Where(r => r is not null).Select(r => r!.Value.LockedFor), Is.All.GreaterThan(TimeSpan.Zero).And.LessThanOrEqualTo(Window));
    }

    [TestCaseSource(nameof(Backends))]
    public async Task Reserve_TwoKeys_RefusedByEitherAndCountsNothingWhenRefused(string backend)
    {
        var b = Create(backend);
        (string, int)[] aliceFromIp = [("login:alice", 5), ("ip:1", 2)];
        Assert.That(await b.Store.ReserveAsync(aliceFromIp, Window, None), Is.Null);
        Assert.That(await b.Store.ReserveAsync([("login:bob", 5), ("ip:1", 2)], Window, None), Is.Null, "the second attempt from ip:1 still runs");
        var refused = await b.Store.ReserveAsync([("login:carol", 5), ("ip:1", 2)], Window, None);
        Assert.That(refused?.Index, Is.EqualTo(1), "refused by the address");
        // carol was not counted: five more reservations from elsewhere all run.
        for (var i = 0; i < 4; i++) Assert.That(await b.Store.ReserveAsync([("login:carol", 5), ($"ip:x{i}", 2)], Window, None), Is.Null);
    }

    [TestCaseSource(nameof(Backends))]
    public async Task Release_GivesTheAttemptBackAndLiftsTheLock_ResetForgetsAll(string backend)
    {
        var b = Create(backend);
        Assert.That(await b.Store.ReserveAsync([("ip:1", 2)], Window, None), Is.Null);
        Assert.That(await b.Store.ReserveAsync([("ip:1", 2)], Window, None), Is.Null);
        Assert.That(await b.Store.ReserveAsync([("ip:1", 2)], Window, None), Is.Not.Null, "locked at the limit");
        await b.Store.ReleaseAsync("ip:1", 2, None);
        Assert.That(await b.Store.ReserveAsync([("ip:1", 2)], Window, None), Is.Null, "one attempt given back");
        Assert.That(await b.Store.ReserveAsync([("ip:1", 2)], Window, None), Is.Not.Null);
        await b.Store.ResetAsync("ip:1", None);
        Assert.That(await b.Store.ReserveAsync([("ip:1", 2)], Window, None), Is.Null);
    }

    private static Task<(int Index, TimeSpan LockedFor)?> ReserveAsync(Backend b, string key, int max, TimeSpan lockFor) =>
        b.Store.ReserveAsync([(key, max)], lockFor, None);

    [TestCaseSource(nameof(Backends))]
    public async Task Reserve_BelowTheMaximum_DoesNotLock(string backend)
    {
        var b = Create(backend);
        Assert.That(await ReserveAsync(b, "login:alice", 3, Window), Is.Null);
        Assert.That(await ReserveAsync(b, "login:alice", 3, Window), Is.Null);
        Assert.That(await ReserveAsync(b, "login:alice", 3, Window), Is.Null, "the attempt that reaches the maximum still runs");
        Assert.That(await ReserveAsync(b, "login:bob", 3, Window), Is.Null, "other keys are not locked");
    }

    [TestCaseSource(nameof(Backends))]
    public async Task Reserve_WhileLocked_ReturnsTheRemainingLockWithoutExtendingIt(string backend)
    {
        var b = Create(backend);
        Assert.That(await ReserveAsync(b, "login:alice", 1, Window), Is.Null);
        var first = await ReserveAsync(b, "login:alice", 1, Window);
        var again = await ReserveAsync(b, "login:alice", 1, Window);
        Assert.That(first?.LockedFor, Is.GreaterThan(TimeSpan.Zero).And.LessThanOrEqualTo(Window));
        Assert.That(again?.LockedFor, Is.LessThanOrEqualTo(first!.Value.LockedFor));
    }

    [TestCaseSource(nameof(Backends))]
    public async Task Lock_EndsAfterTheLockTime(string backend)
    {
        var b = Create(backend);
        await ReserveAsync(b, "login:alice", 1, Short);
        Assert.That(await b.AfterAsync(Short, async () => await ReserveAsync(b, "login:alice", 1, Short) is null), Is.True);
    }

    [TestCaseSource(nameof(Backends))]
    public async Task Reset_ClearsTheLockAndTheCount(string backend)
    {
        var b = Create(backend);
        for (var i = 0; i < 3; i++) await ReserveAsync(b, "login:alice", 3, Window);
        Assert.That(await ReserveAsync(b, "login:alice", 3, Window), Is.Not.Null);

        await b.Store.ResetAsync("login:alice", None);

        Assert.That(await ReserveAsync(b, "login:alice", 3, Window), Is.Null, "counting starts again from zero");
        Assert.That(await ReserveAsync(b, "login:alice", 3, Window), Is.Null);
        Assert.That(await ReserveAsync(b, "login:alice", 3, Window), Is.Null);
        Assert.That(await ReserveAsync(b, "login:alice", 3, Window), Is.Not.Null);
    }

    [TestCaseSource(nameof(Backends))]
    public async Task Attempts_OlderThanTheLockTime_AreForgotten(string backend)
    {
        var b = Create(backend);
        await ReserveAsync(b, "login:alice", 3, Short);
        // A timer key started just after the attempt: once its window has passed, so has the attempt's.
        await b.Store.HitAsync("timer", Short, None);
        Assert.That(await b.AfterAsync(Short, async () => (await b.Store.HitAsync("timer", Short, None)).Count == 1), Is.True);

        Assert.That(await ReserveAsync(b, "login:alice", 3, Short), Is.Null);
        Assert.That(await ReserveAsync(b, "login:alice", 3, Short), Is.Null, "two attempts in the new window do not reach three");
    }

    [Test, Description("An unreachable Redis: counting goes on in this process instead of failing the request")]
    public async Task RedisStore_WhenRedisIsUnreachable_CountsInProcessAndLocks()
    {
        var options = RedisUrl.Parse("redis://127.0.0.1:1");
        options.ConnectTimeout = 200;
        options.SyncTimeout = 200;
        using var dead = await ConnectionMultiplexer.ConnectAsync(options);
        var store = new RedisCounterStore(dead, "dead:", new InProcessCounterStore(TimeProvider.System), NullLogger<RedisCounterStore>.Instance);

        var first = await store.HitAsync("ip", Window, CancellationToken.None);
        var second = await store.HitAsync("ip", Window, CancellationToken.None);
        Assert.That((first.Count, second.Count), Is.EqualTo((1L, 2L)));
        Assert.That(store.Degraded, Is.True);

        Assert.That(await store.ReserveAsync([("user", 2)], Window, CancellationToken.None), Is.Null);
        Assert.That(await store.ReserveAsync([("user", 2)], Window, CancellationToken.None), Is.Null);
        Assert.That(await store.ReserveAsync([("user", 2)], Window, CancellationToken.None), Is.Not.Null, "locked in process");
        await store.ReleaseAsync("user", 2, CancellationToken.None);
        Assert.That(await store.ReserveAsync([("user", 2)], Window, CancellationToken.None), Is.Null, "released in process");
        await store.ResetAsync("user", CancellationToken.None);
        Assert.That(await store.ReserveAsync([("user", 2)], Window, CancellationToken.None), Is.Null);
    }
}
