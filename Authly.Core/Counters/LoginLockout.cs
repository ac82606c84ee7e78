using Authly.Configuration;

namespace Authly.Counters;

/// <summary>
/// AUTHLY_LOCKOUT_MAX_ATTEMPTS failed logins for one username lock it for
/// AUTHLY_LOCKOUT_DURATION_SECONDS, on every node at once. Keyed by the lower-cased username
/// whether or not the account exists, so the lockout does not reveal which accounts do.
/// </summary>
public sealed class LoginLockout(ICounterStore counters, AuthlyOptions options)
{
    private static string Key(string username) => "login:" + username.Trim().ToLowerInvariant();

    public Task<TimeSpan?> LockedForAsync(string username, CancellationToken ct) => counters.LockedForAsync(Key(username), ct);

    public Task<TimeSpan?> RecordFailureAsync(string username, CancellationToken ct) =>
        counters.FailAsync(Key(username), options.LockoutMaxAttempts, TimeSpan.FromSeconds(options.LockoutDurationSeconds), ct);

    public Task ResetAsync(string username, CancellationToken ct) => counters.ResetAsync(Key(username), ct);
}
