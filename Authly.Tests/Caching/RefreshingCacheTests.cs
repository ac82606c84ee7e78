using System.Collections.Concurrent;
using Authly.Caching;
using Authly.Storage;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Caching;

/// <summary>
/// Issue 13: the one refreshing cache behind clients, scopes, signing keys, revocations and vault
/// providers. A hand-moved clock and a fake loader whose reads the test completes by hand: no
/// database, no sleeps; "at once" means the returned task is already complete.
/// </summary>
[TestFixture, Category("Caching")]
public sealed class RefreshingCacheTests
{
    private static readonly TimeSpan FreshFor = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StaleFor = TimeSpan.FromSeconds(900);
    private static readonly CancellationToken None = CancellationToken.None;
    private TestClock _clock = null!;
    private ListLogger _log = null!;
    private FakeSource _db = null!;

    // NUnit shares one fixture instance between tests: each starts with its own clock, log and source.
    [SetUp]
    public void NewWorld() => (_clock, _log, _db) = (new TestClock(DateTimeOffset.UtcNow), new ListLogger(), new FakeSource());

    /// <summary>A database stand-in: answers "key@version"; a test may hold reads open, or make them fail.</summary>
    private sealed class FakeSource
    {
        private int _version;
        public int Reads;
        public int BatchReads;
        public IReadOnlyList<string>? LastBatch;
        public Exception? Failure;
        public TaskCompletionSource? Gate;
        public ConcurrentDictionary<string, bool> Absent { get; } = new();

        public void Change() => Interlocked.Increment(ref _version);

        public async Task<string?> LoadAsync(string key, CancellationToken ct)
        {
            Interlocked.Increment(ref Reads);
            var version = Volatile.Read(ref _version);
            if (Gate is { } gate) await gate.Task.WaitAsync(ct);
            if (Failure is { } failure) throw failure;
            return Absent.ContainsKey(key) ? null : $"{key}@{version}";
        }

        public async Task<IReadOnlyDictionary<string, string?>> LoadManyAsync(IReadOnlyList<string> keys, CancellationToken ct)
        {
            Interlocked.Increment(ref BatchReads);
            LastBatch = keys;
            if (Failure is { } failure) throw failure;
            await Task.Yield();
            return keys.ToDictionary(k => k, k => Absent.ContainsKey(k) ? null : $"{k}@{_version}");
        }
    }

    private RefreshingCache<string, string?> Cache(int maxEntries = int.MaxValue, bool background = false, TimeSpan? revalidateEvery = null) =>
        new("things", _clock, _log, FreshFor, StaleFor, _db.LoadAsync, StringComparer.Ordinal, maxEntries, background,
            revalidateEvery is { } every ? new BatchRevalidation<string, string?>(every, _db.LoadManyAsync) : null);

    private static Exception Outage() => new Npgsql.NpgsqlException("PostgreSQL is unavailable");

    [Test]
    public async Task Expiry_AValueIsServedUntilItsFreshTimeOnTheInjectedClockHasPassed_ThenReadAgain()
    {
        var cache = Cache();
        Assert.That(await cache.GetAsync("a", None), Is.EqualTo("a@0"));
        _db.Change();
        _clock.Advance(FreshFor - TimeSpan.FromMilliseconds(1));
        Assert.That(await cache.GetAsync("a", None), Is.EqualTo("a@0"), "still fresh");
        Assert.That(_db.Reads, Is.EqualTo(1));

        _clock.Advance(TimeSpan.FromMilliseconds(2));
        Assert.That(await cache.GetAsync("a", None), Is.EqualTo("a@1"), "expired: read again");
        Assert.That(_db.Reads, Is.EqualTo(2));
    }

    [Test]
    public async Task Invalidate_OneKey_IsReadAgainOnItsNextUse_AndTheOthersStay()
    {
        var cache = Cache();
        await cache.GetAsync("a", None);
        await cache.GetAsync("b", None);
        _db.Change();

        cache.Invalidate("a");

        Assert.That(await cache.GetAsync("a", None), Is.EqualTo("a@1"));
        Assert.That(await cache.GetAsync("b", None), Is.EqualTo("b@0"), "another key is untouched");
        Assert.That(_db.Reads, Is.EqualTo(3));
    }

    [Test]
    public async Task InvalidateAll_EveryKeyIsReadAgain()
    {
        var cache = Cache();
        await cache.GetAsync("a", None);
        await cache.GetAsync("b", None);
        _db.Change();

        cache.InvalidateAll();

        Assert.That(await cache.GetAsync("a", None), Is.EqualTo("a@1"));
        Assert.That(await cache.GetAsync("b", None), Is.EqualTo("b@1"));
    }

    [Test]
    public async Task Invalidate_DuringAnOutage_TheDroppedValueIsNeverServedStale()
    {
        var cache = Cache();
        await cache.GetAsync("a", None);
        cache.Invalidate("a");
        _db.Failure = Outage();

        Assert.ThrowsAsync<Npgsql.NpgsqlException>(async () => await cache.GetAsync("a", None));
    }

    [Test]
    public async Task Expire_ReadsAgainOnTheNextUse_ButKeepsTheValueForAnOutage()
    {
        var cache = Cache();
        await cache.GetAsync("ring", None);
        _db.Change();
        cache.Expire("ring");
        Assert.That(await cache.GetAsync("ring", None), Is.EqualTo("ring@1"), "read again at once");

        cache.Expire("ring");
        _db.Failure = Outage();
        Assert.That(await cache.GetAsync("ring", None), Is.EqualTo("ring@1"), "kept: a newer ring only adds keys");
    }

    [Test]
    public async Task ColdBurst_ManyCallersForAKeyNotYetHeld_WaitOnOneRead()
    {
        var cache = Cache();
        _db.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var callers = Enumerable.Range(0, 50).Select(_ => cache.GetAsync("a", None).AsTask()).ToArray();
        Assert.That(callers.Any(c => c.IsCompleted), Is.False, "nothing to answer before the read");
        _db.Gate.SetResult();
        var answers = await Task.WhenAll(callers);

        Assert.That(answers, Is.All.EqualTo("a@0"));
        Assert.That(_db.Reads, Is.EqualTo(1), "one read for the burst");
    }

    [Test]
    public async Task ExpiredBurst_OneCallerReReads_TheOthersKeepTheOldValueAtOnce()
    {
        var cache = Cache();
        await cache.GetAsync("a", None);
        _clock.Advance(FreshFor + TimeSpan.FromSeconds(1));
        _db.Change();
        _db.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var rereading = cache.GetAsync("a", None).AsTask();
        var others = Enumerable.Range(0, 50).Select(_ => cache.GetAsync("a", None)).ToArray();

        Assert.That(rereading.IsCompleted, Is.False, "the first caller re-reads");
        Assert.That(others.All(o => o.IsCompletedSuccessfully && o.Result == "a@0"), Is.True, "the others answer at once from the old value");
        _db.Gate.SetResult();
        Assert.That(await rereading, Is.EqualTo("a@1"));
        Assert.That(await cache.GetAsync("a", None), Is.EqualTo("a@1"), "the re-read value is stored");
        Assert.That(_db.Reads, Is.EqualTo(2), "one read for the load, one for the burst");
    }

    [Test]
    public async Task LoadingCallerCancelled_AWaiterStillGetsTheValue()
    {
        var cache = Cache();
        _db.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var gone = new CancellationTokenSource();

        var first = cache.GetAsync("a", gone.Token).AsTask();
        var waiter = cache.GetAsync("a", None).AsTask();
        await gone.CancelAsync();
        Assert.CatchAsync<OperationCanceledException>(async () => await first);
        _db.Gate.SetResult();

        Assert.That(await waiter, Is.EqualTo("a@0"), "the waiter read again for itself");
        Assert.That(_db.Reads, Is.EqualTo(2));
    }

    [Test]
    public async Task ChangeDuringARead_TheReadDoesNotStoreWhatItHeld()
    {
        var cache = Cache();
        _db.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reading = cache.GetAsync("a", None).AsTask(); // reads version 0
        _db.Change();
        cache.Invalidate("a");
        _db.Gate.SetResult();
        await reading;
        _db.Gate = null;

        Assert.That(await cache.GetAsync("a", None), Is.EqualTo("a@1"), "the value read before the change was not kept");
    }

    [Test]
    public async Task StaleOnError_DuringAnOutage_TheLastGoodValueIsServedWithinTheBound_ThenTheOutageIsAnError()
    {
        var cache = Cache();
        await cache.GetAsync("a", None);
        _db.Failure = Outage();
        _clock.Advance(FreshFor + TimeSpan.FromSeconds(1));

        Assert.That(await cache.GetAsync("a", None), Is.EqualTo("a@0"), "served stale");
        var reads = _db.Reads;
        Assert.That(await cache.GetAsync("a", None), Is.EqualTo("a@0"));
        Assert.That(_db.Reads, Is.EqualTo(reads), "not retried on every call");
        _clock.Advance(RefreshingCache<string, string?>.RetryEvery);
        Assert.That(await cache.GetAsync("a", None), Is.EqualTo("a@0"));
        Assert.That(_db.Reads, Is.EqualTo(reads + 1), "retried after RetryEvery");

        // AUTHLY_STALE_CACHE_SECONDS after the database last confirmed it: no longer served.
        _clock.Advance(StaleFor - FreshFor);
        Assert.ThrowsAsync<Npgsql.NpgsqlException>(async () => await cache.GetAsync("a", None));
    }

    [Test]
    public void StaleOnError_AValueNeverLoaded_IsNotInvented()
    {
        var cache = Cache();
        _db.Failure = Outage();
        Assert.ThrowsAsync<Npgsql.NpgsqlException>(async () => await cache.GetAsync("a", None));
    }

    [Test]
    public async Task StaleOnError_AnErrorThatIsNotAnOutage_IsNotHidden()
    {
        var cache = Cache();
        await cache.GetAsync("a", None);
        _db.Failure = new InvalidOperationException("a bug");
        _clock.Advance(FreshFor + TimeSpan.FromSeconds(1));
        Assert.ThrowsAsync<InvalidOperationException>(async () => await cache.GetAsync("a", None));
    }

    [Test]
    public async Task StaleOnError_SaysSoOncePerOutage_AndOnceOnRecovery()
    {
        var cache = Cache();
        await cache.GetAsync("a", None);
        await cache.GetAsync("b", None);
        _db.Failure = Outage();
        for (var i = 0; i < 3; i++)
        {
            _clock.Advance(FreshFor);
            await cache.GetAsync("a", None);
            await cache.GetAsync("b", None);
        }
        Assert.That(_log.Count("PostgreSQL is unreachable: serving cached things (each at most 900 s old)"), Is.EqualTo(1));

        _db.Failure = null;
        _clock.Advance(FreshFor);
        Assert.That(await cache.GetAsync("a", None), Is.EqualTo("a@0"));
        await cache.GetAsync("b", None);
        Assert.That(_log.Count("PostgreSQL is reachable again: things re-read from the database"), Is.EqualTo(1));
        Assert.That(_log.Entries, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task BatchRevalidation_EveryPresentValueIsReReadInOneCall_AbsentAnswersAreLeftToExpire()
    {
        var cache = Cache(revalidateEvery: TimeSpan.FromSeconds(2));
        _db.Absent["unknown"] = true;
        await cache.GetAsync("a", None);
        await cache.GetAsync("b", None);
        Assert.That(await cache.GetAsync("unknown", None), Is.Null);
        _db.Change();
        _db.Absent["b"] = true; // deleted meanwhile, announcement lost

        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.That(await cache.GetAsync("a", None), Is.EqualTo("a@1"));

        Assert.That(_db.BatchReads, Is.EqualTo(1));
        Assert.That(_db.LastBatch, Is.EquivalentTo(new[] { "a", "b" }));
        Assert.That(await cache.GetAsync("b", None), Is.Null, "the deletion is seen without waiting for the entry to expire");
        Assert.That(_db.Reads, Is.EqualTo(3), "no single reads beyond the first three");
        Assert.That(_db.BatchReads, Is.EqualTo(1), "once per interval");
    }

    [Test]
    public async Task BatchRevalidation_DuringAnOutage_KeepsTheValuesAndTheirConfirmation()
    {
        var cache = Cache(revalidateEvery: TimeSpan.FromSeconds(2));
        await cache.GetAsync("a", None);
        _db.Failure = Outage();
        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.That(await cache.GetAsync("a", None), Is.EqualTo("a@0"), "still fresh: the failed re-validation changes nothing");
        _clock.Advance(StaleFor);
        Assert.ThrowsAsync<Npgsql.NpgsqlException>(async () => await cache.GetAsync("a", None), "the bound counts from the last confirmation");
    }

    [Test]
    public async Task BoundedSize_AFloodOfUnknownKeys_StaysWithinTheBound_AndKeepsThePresentValues()
    {
        var cache = Cache(maxEntries: 100);
        for (var i = 0; i < 10; i++) await cache.GetAsync($"real{i}", None);
        for (var i = 0; i < 1000; i++)
        {
            _db.Absent[$"made-up{i}"] = true;
            Assert.That(await cache.GetAsync($"made-up{i}", None), Is.Null);
        }

        Assert.That(cache.Count, Is.LessThanOrEqualTo(100));
        var reads = _db.Reads;
        for (var i = 0; i < 10; i++) Assert.That(await cache.GetAsync($"real{i}", None), Is.EqualTo($"real{i}@0"));
        Assert.That(_db.Reads, Is.EqualTo(reads), "the real entries were not pushed out");
    }

    [Test]
    public async Task RefreshInBackground_TheCallerThatReReadsAlsoAnswersAtOnceFromTheOldValue()
    {
        var cache = Cache(background: true);
        await cache.GetAsync("a", None);
        _db.Change();
        _db.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _clock.Advance(FreshFor);

        var first = cache.GetAsync("a", None);
        Assert.That(first.IsCompletedSuccessfully && first.Result == "a@0", Is.True, "no caller waits for a background re-read");
        _db.Gate.SetResult();
        Assert.That(await Eventually.TrueAsync(async () => await cache.GetAsync("a", None) == "a@1", TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(_db.Reads, Is.EqualTo(2));
    }

    [Test]
    public async Task RefreshingValue_IsTheSameCacheWithOneKey()
    {
        var value = new RefreshingValue<string?>("one thing", _clock, _log, FreshFor, StaleFor, ct => _db.LoadAsync("v", ct));
        Assert.That(value.IsLoaded, Is.False);
        Assert.That(await value.GetAsync(None), Is.EqualTo("v@0"));
        Assert.That(value.IsLoaded, Is.True);
        _db.Change();
        value.Invalidate();
        Assert.That(await value.GetAsync(None), Is.EqualTo("v@1"));
    }
}
