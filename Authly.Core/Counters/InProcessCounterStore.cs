namespace Authly.Counters;

/// <summary>Rate-limit counters for a single node without Redis, and for a Redis node while Redis is unreachable. Lost on restart and not shared.</summary>
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
            // Every client address adds a key: forget the ended windows now and then.
            Sweep(now);
            var e = Live("rl:" + key, now) ?? (_entries["rl:" + key] = new Entry { Expires = now + window });
            e.Count++;
            return Task.FromResult((e.Count, e.Expires - now));
        }
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
