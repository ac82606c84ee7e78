namespace Authly.Counters;

/// <summary>Counters for a single node without Redis. Lost on restart and not shared: said loudly at startup.</summary>
public sealed class InProcessCounterStore(TimeProvider clock) : ICounterStore
{
    private sealed class Entry { public long Count; public DateTimeOffset Expires; }

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private DateTimeOffset _nextSweep;

    public Task<(long Count, TimeSpan Remaining)> HitAsync(string key, TimeSpan window, CancellationToken ct)
    {
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            Sweep(now);
            var e = Live("rl:" + key, now) ?? (_entries["rl:" + key] = new Entry { Expires = now + window });
            e.Count++;
            return Task.FromResult((e.Count, e.Expires - now));
        }
    }

    public Task<(int Index, TimeSpan LockedFor)?> ReserveAsync(IReadOnlyList<(string Key, int Max)> keys, TimeSpan lockFor, CancellationToken ct)
    {
        // One lock around check and count: as atomic as the Redis script.
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            // Guessed usernames and addresses add keys even when rate limiting (the other sweeper) is off.
            Sweep(now);
            (int Index, TimeSpan LockedFor)? refusal = null;
            for (var i = 0; i < keys.Count; i++)
                if (Live("lock:" + keys[i].Key, now) is { } locked && (refusal is null || locked.Expires - now > refusal.Value.LockedFor))
                    refusal = (i, locked.Expires - now);
            if (refusal is not null) return Task.FromResult(refusal);
            foreach (var (key, max) in keys)
            {
                var e = Live("fail:" + key, now) ?? (_entries["fail:" + key] = new Entry { Expires = now + lockFor });
                if (++e.Count >= max) _entries["lock:" + key] = new Entry { Count = 1, Expires = now + lockFor };
            }
            return Task.FromResult<(int, TimeSpan)?>(null);
        }
    }

    public Task ReleaseAsync(string key, int max, CancellationToken ct)
    {
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            var count = 0L;
            if (Live("fail:" + key, now) is { } e)
            {
                count = --e.Count;
                if (count <= 0) _entries.Remove("fail:" + key);
            }
            if (count < max) _entries.Remove("lock:" + key);
        }
        return Task.CompletedTask;
    }

    public Task ResetAsync(string key, CancellationToken ct)
    {
        lock (_lock)
        {
            _entries.Remove("lock:" + key);
            _entries.Remove("fail:" + key);
        }
        return Task.CompletedTask;
    }

    private Entry? Live(string key, DateTimeOffset now)
    {
        if (!_entries.TryGetValue(key, out var e)) return null;
        if (e.Expires > now) return e;
        _entries.Remove(key);
        return null;
    }

    private void Sweep(DateTimeOffset now)
    {
        if (now < _nextSweep) return;
        _nextSweep = now + TimeSpan.FromMinutes(1);
        foreach (var (k, e) in _entries.ToList())
            if (e.Expires <= now) _entries.Remove(k);
    }
}
