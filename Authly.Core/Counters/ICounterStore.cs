namespace Authly.Counters;

/// <summary>
/// Atomic counters shared by every node. Two implementations: Redis Lua scripts (several
/// nodes) and in-process (one node without REDIS_URL).
/// </summary>
public interface ICounterStore
{
    /// <summary>Counts one hit in a fixed window; returns the count so far and the time left in the window.</summary>
    Task<(long Count, TimeSpan Remaining)> HitAsync(string key, TimeSpan window, CancellationToken ct);

    /// <summary>
    /// Reserves one attempt on every key at once, before the slow check it guards (RFC 6749 §10.10:
    /// counted first, so concurrent attempts cannot all pass a check-then-count). While any key is
    /// locked the attempt is refused and nothing is counted: the answer is that key's index and how
    /// long its lock lasts. Otherwise each key counts one more attempt within <paramref name="lockFor"/>,
    /// and a key whose count reaches its limit is locked for <paramref name="lockFor"/> (this attempt
    /// still runs, so at most <c>Max</c> attempts are ever evaluated). Null when reserved.
    /// </summary>
    Task<(int Index, TimeSpan LockedFor)?> ReserveAsync(IReadOnlyList<(string Key, int Max)> keys, TimeSpan lockFor, CancellationToken ct);

    /// <summary>Gives one reserved attempt back (it succeeded and should not count): the count goes down by one, and the lock goes once it is under <paramref name="max"/>.</summary>
    Task ReleaseAsync(string key, int max, CancellationToken ct);

    /// <summary>Forgets failures and any lock (after a successful login, or an admin unlock).</summary>
    Task ResetAsync(string key, CancellationToken ct);
}
