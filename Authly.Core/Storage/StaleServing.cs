using Microsoft.Extensions.Logging;

namespace Authly.Storage;

/// <summary>
/// Stale-on-error for one per-node cache: while PostgreSQL is unreachable (<see cref="DependencyOutage"/>)
/// a value last confirmed at most AUTHLY_STALE_CACHE_SECONDS ago keeps being served, so tokens that need
/// only cached state (client_credentials, introspection of JWTs) survive an outage. Says so once per outage
/// and once on recovery. A value that was never cached is not invented: the caller's outage stays a 503.
/// </summary>
public sealed class StaleServing(ILogger log, string what, TimeSpan maxAge)
{
    /// <summary>While serving stale, how often one request per entry tries the database again.</summary>
    public static readonly TimeSpan RetryEvery = TimeSpan.FromSeconds(DependencyOutage.RetryAfterSeconds);

    private int _serving;

    /// <summary>Whether a value confirmed at <paramref name="confirmed"/> may still be served at <paramref name="now"/> after <paramref name="error"/>.</summary>
    public bool MayServe(Exception error, DateTimeOffset confirmed, DateTimeOffset now)
    {
        if (!DependencyOutage.Is(error) || now - confirmed > maxAge) return false;
        if (Interlocked.Exchange(ref _serving, 1) == 0)
            log.LogWarning("PostgreSQL is unreachable: serving cached {What} (each at most {Seconds} s old) until it is back ({Error})",
                what, (int)maxAge.TotalSeconds, error.GetType().Name);
        return true;
    }

    /// <summary>A read succeeded: if this cache was serving stale values, say once that it no longer is.</summary>
    public void Recovered()
    {
        if (Volatile.Read(ref _serving) == 1 && Interlocked.Exchange(ref _serving, 0) == 1)
            log.LogWarning("PostgreSQL is reachable again: {What} re-read from the database", what);
    }
}
