using System.Collections.Concurrent;

namespace Authly.OAuth.Dpop;

/// <summary>
/// A replay cache of one process, for the database proxies, which have no store of Authly's: a proof is single use at
/// that proxy. Bounded: when full of live entries it refuses new proofs (fails closed) rather than forget any.
/// </summary>
public sealed class InProcessDpopReplayCache(TimeProvider clock, int capacity = 100_000) : IDpopReplayCache
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);

    public Task<bool> TryUseAsync(string jkt, string jti, TimeSpan remember, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (_seen.Count >= capacity)
            foreach (var (key, until) in _seen)
                if (until <= now) _seen.TryRemove(key, out _);
        if (_seen.Count >= capacity) return Task.FromResult(false);
        var key2 = jkt + "\n" + jti;
        if (_seen.TryAdd(key2, now + remember)) return Task.FromResult(true);
        // An entry whose time is up may be taken over, by exactly one caller.
        if (_seen.TryGetValue(key2, out var old) && old <= now && _seen.TryUpdate(key2, now + remember, old)) return Task.FromResult(true);
        return Task.FromResult(false);
    }
}
