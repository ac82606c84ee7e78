namespace Authly.Counters;

/// <summary>
/// Rate-limit counters. Two implementations: Redis Lua scripts (several nodes; per node while Redis
/// is unreachable) and in-process (one node without REDIS_URL). Only for limits that may degrade:
/// attempt budgets of guess-able secrets live in <see cref="AttemptGuardStore"/>, which never does.
/// </summary>
public interface ICounterStore
{
    /// <summary>Counts one hit in a fixed window; returns the count so far and the time left in the window.</summary>
    Task<(long Count, TimeSpan Remaining)> HitAsync(string key, TimeSpan window, CancellationToken ct);
}
