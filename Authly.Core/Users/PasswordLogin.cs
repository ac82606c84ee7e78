using Authly.Counters;
using Authly.OAuth;
using Authly.Security;

namespace Authly.Users;

/// <summary>
/// Checking a username and password, for the password grant and the login page alike: lockout
/// first, the same answer and the same time for an unknown user and a wrong password, and only
/// after the password is proven anything about the account's state.
/// </summary>
public sealed class PasswordLogin(UserStore users, PasswordHasher hasher, LoginLockout lockout)
{
    public const string BadCredentials = "Incorrect username or password";
    public const string Locked = "Too many failed attempts. Account temporarily locked.";
    public const string Deactivated = "Account is deactivated";
    public const string NotVerified = "Account not verified";

    /// <summary>Reported per outcome: success, failure, locked, inactive, unverified (for metrics; never the username).</summary>
    public event Action<string>? Attempted;

    /// <exception cref="OAuthException">invalid_grant with API.md's texts; 429 (RetryAfter) when locked</exception>
    public async Task<User> CheckAsync(string username, string password, CancellationToken ct)
    {
        if (username.Length > 255 || password.Length > 1024) throw OAuthException.InvalidGrant(BadCredentials, "oversized credentials");
        if (await lockout.LockedForAsync(username, ct) is { } lockedFor)
        {
            Attempted?.Invoke("locked");
            throw OAuthException.TooManyRequests((int)Math.Ceiling(lockedFor.TotalSeconds), OAuthErrors.InvalidGrant, Locked);
        }
        var user = await users.FindByUsernameAsync(username, ct);
        if (!hasher.Verify(password, user?.PasswordHash))
        {
            await lockout.RecordFailureAsync(username, ct);
            Attempted?.Invoke("failure");
            throw OAuthException.InvalidGrant(BadCredentials, user is null ? "unknown user" : "wrong password");
        }
        if (!user!.IsActive) { Attempted?.Invoke("inactive"); throw OAuthException.InvalidGrant(Deactivated); }
        if (!user.IsVerified) { Attempted?.Invoke("unverified"); throw OAuthException.InvalidGrant(NotVerified); }
        await lockout.ResetAsync(username, ct);
        await users.RecordLoginAsync(user.Id, ct);
        Attempted?.Invoke("success");
        return user;
    }
}
