namespace Authly.Counters;

/// <summary>
/// Atomic counters shared by every node. Two implementations: Redis Lua scripts (several
/// nodes) and in-process (one node without REDIS_URL).
/// </summary>
public interface ICounterStore
{
    /// <summary>Counts one hit in a fixed window; returns the count so far and the time left in the window.</summary>
    Task<(long Count, TimeSpan Remaining)> HitAsync(string key, TimeSpan window, CancellationToken ct);

    /// <summary>How long the lock on <paramref name="key"/> still lasts, or null when it is not locked.</summary>
    Task<TimeSpan?> LockedForAsync(string key, CancellationToken ct);

    /// <summary>
    /// Counts a failure. At <paramref name="maxFailures"/> within <paramref name="lockFor"/>, the key
    /// is locked for <paramref name="lockFor"/> and the lock time is returned; otherwise null.
    /// </summary>
    Task<TimeSpan?> FailAsync(string key, int maxFailures, TimeSpan lockFor, CancellationToken ct);

    /// <summary>Forgets failures and any lock (after a successful login, or an admin unlock).</summary>
    Task ResetAsync(string key, CancellationToken ct);
}
