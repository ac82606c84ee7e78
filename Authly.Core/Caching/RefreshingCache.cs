using System.Collections.Concurrent;
using Authly.Storage;
using Microsoft.Extensions.Logging;

namespace Authly.Caching;

/// <summary>
/// The one per-node cache of database state (clients, scopes, signing keys, the revocation list's
/// re-read, vault providers). Each entry is fresh for <c>freshFor</c> on the injected clock; after
/// that it is re-read by one caller while the others keep its old value (a caller waits only when
/// there is no value at all, and then on that same single read). Changes drop entries on this node
/// at once (<see cref="Invalidate"/>, <see cref="InvalidateAll"/>), and the cluster bus, whose
/// messages are only hints, does the same on the others; a read that began before a change never
/// stores or serves what it held.
/// <para>
/// While PostgreSQL is unreachable (<see cref="DependencyOutage"/>) an entry the database confirmed
/// at most <c>staleFor</c> (AUTHLY_STALE_CACHE_SECONDS) ago keeps being served, retried by one
/// caller every <see cref="RetryEvery"/>; this is said once per outage and once on recovery. A value
/// never loaded is not invented: the caller's outage stays a 503.
/// </para>
/// <para>
/// Absent answers (a null value: "no such client") are cached too, so a repeated unknown id costs
/// no query; they are never re-validated in batch, and when the cache reaches <c>maxEntries</c>
/// they are evicted first, so a flood of made-up ids cannot grow memory nor push out real entries.
/// </para>
/// </summary>
public sealed class RefreshingCache<TKey, TValue> where TKey : notnull
{
    /// <summary>While serving stale, how often one caller per entry tries the database again.</summary>
    public static readonly TimeSpan RetryEvery = TimeSpan.FromSeconds(DependencyOutage.RetryAfterSeconds);

    private readonly string _what;
    private readonly TimeProvider _clock;
    private readonly ILogger _log;
    private readonly TimeSpan _freshFor;
    private readonly TimeSpan _staleFor;
    private readonly Func<TKey, CancellationToken, Task<TValue>> _load;
    private readonly int _maxEntries;
    private readonly bool _refreshInBackground;
    private readonly BatchRevalidation<TKey, TValue>? _revalidation;
    private readonly ConcurrentDictionary<TKey, Entry> _entries;
    // The one read in progress per key: the caller that added it loads, the others keep the old value or wait on it.
    private readonly ConcurrentDictionary<TKey, Task<TValue>> _loading;
    // Bumped by every invalidation, so a read that began before a change neither stores nor serves (outage) what it held.
    private long _generation;
    private int _servingStale;
    private long _nextRevalidationTicks;

    /// <summary>A value until <see cref="Expires"/>; <see cref="Confirmed"/> is when the database last gave it: the bound for serving it stale.</summary>
    private sealed class Entry(TValue value, DateTimeOffset expires, DateTimeOffset confirmed)
    {
        public TValue Value { get; } = value;
        public DateTimeOffset Expires { get; } = expires;
        public DateTimeOffset Confirmed { get; } = confirmed;
    }

    /// <param name="what">What is cached, for the outage log lines ("clients").</param>
    /// <param name="freshFor">How long a value is served without asking the database again.</param>
    /// <param name="staleFor">How long after the database last confirmed a value it may be served during an outage (AUTHLY_STALE_CACHE_SECONDS).</param>
    /// <param name="load">Reads one key's value from the database.</param>
    /// <param name="maxEntries">The bound on held entries; absent answers are evicted first when it is reached.</param>
    /// <param name="refreshInBackground">Whether the caller that re-reads an expired value returns the old one at once instead of waiting for the read.</param>
    /// <param name="revalidation">An optional periodic re-read of every present value in one query.</param>
    public RefreshingCache(string what, TimeProvider clock, ILogger log, TimeSpan freshFor, TimeSpan staleFor,
        Func<TKey, CancellationToken, Task<TValue>> load, IEqualityComparer<TKey>? comparer = null, int maxEntries = int.MaxValue,
        bool refreshInBackground = false, BatchRevalidation<TKey, TValue>? revalidation = null)
    {
        (_what, _clock, _log, _freshFor, _staleFor, _load) = (what, clock, log, freshFor, staleFor, load);
        (_maxEntries, _refreshInBackground, _revalidation) = (maxEntries, refreshInBackground, revalidation);
        _entries = new ConcurrentDictionary<TKey, Entry>(comparer);
        _loading = new ConcurrentDictionary<TKey, Task<TValue>>(comparer);
        if (revalidation is not null) _nextRevalidationTicks = (clock.GetUtcNow() + revalidation.Every).UtcTicks;
    }

    public int Count => _entries.Count;

    /// <summary>The key's value: fresh from this node, else re-read (by one caller), else during an outage the last good value.</summary>
    public ValueTask<TValue> GetAsync(TKey key, CancellationToken ct)
    {
        var now = _clock.GetUtcNow();
        if (!RevalidationDue(now) && _entries.TryGetValue(key, out var entry) && entry.Expires > now) return new ValueTask<TValue>(entry.Value);
        return new ValueTask<TValue>(GetSlowAsync(key, ct));
    }

    /// <summary>Drops one key at once: its value is from before a change and is never served again, not even during an outage.</summary>
    public void Invalidate(TKey key)
    {
        Interlocked.Increment(ref _generation);
        _entries.TryRemove(key, out _);
        // A read in progress began before the change: a caller from now on starts its own rather than share its answer.
        _loading.TryRemove(key, out _);
    }

    /// <summary>Drops every key at once, as <see cref="Invalidate"/>.</summary>
    public void InvalidateAll()
    {
        Interlocked.Increment(ref _generation);
        _entries.Clear();
        _loading.Clear();
    }

    /// <summary>
    /// Makes one key due for a re-read without dropping it: for values a newer one only adds to
    /// (a key ring after a rotation), which stay safe to serve while the re-read runs or fails.
    /// </summary>
    public void Expire(TKey key)
    {
        Interlocked.Increment(ref _generation);
        if (_entries.TryGetValue(key, out var entry))
            _entries.TryUpdate(key, new Entry(entry.Value, DateTimeOffset.MinValue, entry.Confirmed), entry);
    }

    private async Task<TValue> GetSlowAsync(TKey key, CancellationToken ct)
    {
        await RevalidateIfDueAsync(ct);
        while (true)
        {
            var now = _clock.GetUtcNow();
            _entries.TryGetValue(key, out var entry);
            if (entry is not null && entry.Expires > now) return entry.Value;
            if (_loading.TryGetValue(key, out var running))
            {
                // Another caller is re-reading: keep the old value rather than query the database at once with it.
                if (entry is not null) return entry.Value;
                try { return await running.WaitAsync(ct); }
                // The caller that was loading gave up (its request ended); this one is still wanted: load again.
                catch (OperationCanceledException) when (!ct.IsCancellationRequested) { continue; }
            }
            var done = new TaskCompletionSource<TValue>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_loading.TryAdd(key, done.Task)) continue;
            if (entry is null || !_refreshInBackground) return await LoadAsync(key, entry, now, done, ct);
            _ = RefreshInBackgroundAsync(key, entry, now, done);
            return entry.Value;
        }
    }

    private async Task<TValue> LoadAsync(TKey key, Entry? entry, DateTimeOffset now, TaskCompletionSource<TValue> done, CancellationToken ct)
    {
        try
        {
            var value = await LoadOrServeStaleAsync(key, entry, now, ct);
            // Removed before completing, so a waiter that retries never finds the finished read again.
            _loading.TryRemove(new KeyValuePair<TKey, Task<TValue>>(key, done.Task));
            done.SetResult(value);
            return value;
        }
        catch (Exception e)
        {
            _loading.TryRemove(new KeyValuePair<TKey, Task<TValue>>(key, done.Task));
            done.SetException(e);
            _ = done.Task.Exception; // observed here: this caller rethrows it, waiters (if any) get it too
            throw;
        }
    }

    private async Task RefreshInBackgroundAsync(TKey key, Entry entry, DateTimeOffset now, TaskCompletionSource<TValue> done)
    {
        try { await LoadAsync(key, entry, now, done, CancellationToken.None); }
        catch (Exception e)
        {
            // Not an outage (that is served stale and said once), or one past the stale bound: say so, and
            // retry no sooner than every few seconds, rather than on every request.
            _log.LogWarning(e, "Could not refresh cached {What}; will retry", _what);
            _entries.TryUpdate(key, new Entry(entry.Value, now + RetryEvery, entry.Confirmed), entry);
        }
    }

    private async Task<TValue> LoadOrServeStaleAsync(TKey key, Entry? entry, DateTimeOffset now, CancellationToken ct)
    {
        var generation = Interlocked.Read(ref _generation);
        TValue value;
        try { value = await _load(key, ct); }
        // Not when a change was announced while this read ran: the entry is then from before the change (a
        // deactivation, a new secret) and must not be served after it, outage or not.
        catch (Exception e) when (entry is not null && Interlocked.Read(ref _generation) == generation && MayServeStale(e, entry.Confirmed, now))
        {
            // The last good value, with the database tried again by one caller every few seconds. An entry a
            // change removed meanwhile is not put back (TryUpdate compares with the entry read before).
            _entries.TryUpdate(key, new Entry(entry.Value, now + RetryEvery, entry.Confirmed), entry);
            return entry.Value;
        }
        Recovered();
        if (Interlocked.Read(ref _generation) == generation) Store(key, value, now);
        return value;
    }

    private void Store(TKey key, TValue value, DateTimeOffset now)
    {
        if (_entries.Count >= _maxEntries && !_entries.ContainsKey(key)) MakeRoom(now);
        _entries[key] = new Entry(value, now + _freshFor, now);
    }

    /// <summary>
    /// At the bound: absent answers go first (a flood of made-up ids is nothing but those), then
    /// expired values; if present, unexpired values alone fill it, start over.
    /// </summary>
    private void MakeRoom(DateTimeOffset now)
    {
        foreach (var (key, entry) in _entries)
            if (!IsPresent(entry.Value)) _entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry));
        if (_entries.Count < _maxEntries) return;
        foreach (var (key, entry) in _entries)
            if (entry.Expires <= now) _entries.TryRemove(new KeyValuePair<TKey, Entry>(key, entry));
        if (_entries.Count >= _maxEntries) _entries.Clear();
    }

    private static bool IsPresent(TValue value) => value is not null;

    private bool RevalidationDue(DateTimeOffset now) =>
        _revalidation is not null && now.UtcTicks >= Interlocked.Read(ref _nextRevalidationTicks);

    /// <summary>
    /// Once per <see cref="BatchRevalidation{TKey,TValue}.Every"/>, re-reads every present value in one
    /// query (claimed by one caller; the others go on from the cache), so a change whose announcement
    /// was lost is seen within seconds. Absent answers are left to expire: something that appears late is harmless.
    /// </summary>
    private async Task RevalidateIfDueAsync(CancellationToken ct)
    {
        if (_revalidation is null) return;
        var now = _clock.GetUtcNow();
        var due = Interlocked.Read(ref _nextRevalidationTicks);
        if (now.UtcTicks < due || Interlocked.CompareExchange(ref _nextRevalidationTicks, (now + _revalidation.Every).UtcTicks, due) != due) return;
        var held = _entries.Where(kv => IsPresent(kv.Value.Value)).ToArray();
        if (held.Length == 0) return;
        var generation = Interlocked.Read(ref _generation);
        IReadOnlyDictionary<TKey, TValue> fresh;
        try { fresh = await _revalidation.LoadMany(held.Select(kv => kv.Key).ToArray(), ct); }
        // During an outage the entries keep their confirmation time; serving them is bounded in the single read.
        catch (Exception e) when (DependencyOutage.Is(e)) { return; }
        Recovered();
        if (Interlocked.Read(ref _generation) != generation) return;
        foreach (var (key, old) in held)
            if (fresh.TryGetValue(key, out var value)) _entries.TryUpdate(key, new Entry(value, now + _freshFor, now), old);
    }

    /// <summary>Whether a value confirmed at <paramref name="confirmed"/> may still be served at <paramref name="now"/> after <paramref name="error"/>.</summary>
    private bool MayServeStale(Exception error, DateTimeOffset confirmed, DateTimeOffset now)
    {
        if (!DependencyOutage.Is(error) || now - confirmed > _staleFor) return false;
        if (Interlocked.Exchange(ref _servingStale, 1) == 0)
        {
            if (_staleFor == TimeSpan.MaxValue)
                _log.LogWarning("PostgreSQL is unreachable: serving cached {What} until it is back ({Error})", _what, error.GetType().Name);
            else
                _log.LogWarning("PostgreSQL is unreachable: serving cached {What} (each at most {Seconds} s old) until it is back ({Error})",
                    _what, (long)_staleFor.TotalSeconds, error.GetType().Name);
        }
        return true;
    }

    /// <summary>A read succeeded: if this cache was serving stale values, say once that it no longer is.</summary>
    private void Recovered()
    {
        if (Volatile.Read(ref _servingStale) == 1 && Interlocked.Exchange(ref _servingStale, 0) == 1)
            _log.LogWarning("PostgreSQL is reachable again: {What} re-read from the database", _what);
    }
}
