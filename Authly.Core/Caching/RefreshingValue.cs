using Microsoft.Extensions.Logging;

namespace Authly.Caching;

/// <summary>
/// One cached value (the active scopes, the key ring, the revocation list's last re-read): a
/// <see cref="RefreshingCache{TKey,TValue}"/> with a single key, with the same expiry, single re-read,
/// invalidation and stale-on-error.
/// </summary>
public sealed class RefreshingValue<TValue>(string what, TimeProvider clock, ILogger log, TimeSpan freshFor, TimeSpan staleFor,
    Func<CancellationToken, Task<TValue>> load, bool refreshInBackground = false)
{
    private const bool TheKey = true;
    private readonly RefreshingCache<bool, TValue> _cache =
        new(what, clock, log, freshFor, staleFor, (_, ct) => load(ct), refreshInBackground: refreshInBackground);

    /// <summary>Whether a value is held (fresh or not).</summary>
    public bool IsLoaded => _cache.Count > 0;

    /// <inheritdoc cref="RefreshingCache{TKey,TValue}.GetAsync"/>
    public ValueTask<TValue> GetAsync(CancellationToken ct) => _cache.GetAsync(TheKey, ct);

    /// <inheritdoc cref="RefreshingCache{TKey,TValue}.Invalidate"/>
    public void Invalidate() => _cache.Invalidate(TheKey);

    /// <inheritdoc cref="RefreshingCache{TKey,TValue}.Expire"/>
    public void Expire() => _cache.Expire(TheKey);
}
