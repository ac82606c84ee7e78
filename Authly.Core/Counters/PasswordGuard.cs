using Authly.Configuration;
using Authly.OAuth;

namespace Authly.Counters;

/// <summary>
/// The one guard in front of every password check (password grant, login page, change-password
/// API and page). RFC 6749 §10.10 asks for protection against online guessing; this gives it two
/// limits, both counted before the (slow) Argon2 verification, in one atomic step:
/// AUTHLY_LOCKOUT_MAX_ATTEMPTS per lower-cased username (whether or not the account exists, so the
/// lock does not reveal which do) and AUTHLY_LOCKOUT_IP_MAX_ATTEMPTS per client address (one
/// address guessing across many usernames). A key at its limit is locked for
/// AUTHLY_LOCKOUT_DURATION_SECONDS on every node, kept in PostgreSQL so that no Redis outage lifts
/// or forgets it (issue 12 finding 2). Because the attempt is reserved first, a burst of
/// concurrent guesses evaluates at most the limit (a check, then verify, then count let 28 of 40
/// through). A right password clears the username's count and gives the address its attempt back
/// (so an attacker's own good logins cannot wipe the address's earlier failures).
/// </summary>
public sealed class PasswordGuard(AttemptGuardStore counters, AuthlyOptions options)
{
    public const string AccountLocked = "Too many failed attempts. Account temporarily locked.";
    public const string AddressLocked = "Too many failed attempts from this address. Try again later.";

    private static string UserKey(string username) => "login:" + username.Trim().ToLowerInvariant();
    private static string AddressKey(string? clientIp) => "login-ip:" + (clientIp ?? "unknown");
    private TimeSpan LockFor => TimeSpan.FromSeconds(options.LockoutDurationSeconds);

    /// <summary>Reserves one attempt for <paramref name="username"/> from <paramref name="clientIp"/>.</summary>
    /// <exception cref="ThrottledException">429 (invalid_grant, TOO_MANY_ATTEMPTS) with Retry-After when either is locked</exception>
    public async Task ReserveAsync(string username, string? clientIp, CancellationToken ct)
    {
        var refusal = await counters.ReserveAsync(
            [(UserKey(username), options.LockoutMaxAttempts), (AddressKey(clientIp), options.LockoutIpMaxAttempts)], LockFor, ct);
        if (refusal is { } r)
            throw new ThrottledException((int)Math.Ceiling(r.LockedFor.TotalSeconds), r.Index == 0 ? AccountLocked : AddressLocked,
                OAuthErrors.InvalidGrant, ThrottledException.TooManyAttempts);
    }

    /// <summary>The password was right: the username starts from zero, the address gets its attempt back.</summary>
    public async Task SucceededAsync(string username, string? clientIp, CancellationToken ct)
    {
        await counters.ResetAsync(UserKey(username), ct);
        await counters.ReleaseAsync(AddressKey(clientIp), options.LockoutIpMaxAttempts, ct);
    }

    /// <summary>An admin unlock or password reset.</summary>
    public Task UnlockAsync(string username, CancellationToken ct) => counters.ResetAsync(UserKey(username), ct);
}
