using System.Collections.Concurrent;
using Authly.Counters;
using Authly.Storage;
using Authly.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Authly.Tests.Stores;

/// <summary>Both ICounterStore implementations (rate limits) behave alike: fixed-window hits. Attempt budgets are in AttemptGuardStoreTests.</summary>
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

    [Test, Description("Issue12_Finding2: an unreachable Redis degrades rate limits to per-node counting, said once per outage and counted for the metric")]
    public async Task Issue12_Finding2_RedisStore_WhenRedisIsUnreachable_CountsInProcessSaysSoOnceAndRaisesTheMetricEvent()
    {
        var options = RedisUrl.Parse("redis://127.0.0.1:1");
        options.ConnectTimeout = 200;
        options.SyncTimeout = 200;
        using var dead = await ConnectionMultiplexer.ConnectAsync(options);
        var log = new ListLogger<RedisCounterStore>();
        var store = new RedisCounterStore(dead, "dead:", new InProcessCounterStore(TimeProvider.System), log);
        var local = 0;
        store.CountedLocally += () => Interlocked.Increment(ref local);

        var counts = new List<long>();
        for (var i = 0; i < 3; i++) counts.Add((await store.HitAsync("ip", Window, CancellationToken.None)).Count);

        Assert.Multiple(() =>
        {
            Assert.That(counts, Is.EqualTo(new long[] { 1, 2, 3 }), "counted in this process, not failed");
            Assert.That(store.Degraded, Is.True);
            Assert.That(local, Is.EqualTo(3));
            Assert.That(log.Entries.Count(e => e.Level == LogLevel.Error), Is.EqualTo(1), "one warning per outage, not one per request");
        });
    }

    private sealed class ListLogger<T> : ILogger<T>
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception)));
    }
}
