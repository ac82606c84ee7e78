using Authly.Counters;
using Authly.OAuth;
using Authly.Security;

namespace Authly.Users;

/// <summary>
/// Every password check, for the password grant, the login page and re-authentication
/// (change-password) alike: the attempt is reserved with <see cref="PasswordGuard"/> before the
/// password is verified (RFC 6749 §10.10), the same answer and the same time for an unknown user
/// and a wrong password, and only after the password is proven anything about the account's state.
/// </summary>
public sealed class PasswordLogin(UserStore users, PasswordHasher hasher, PasswordGuard guard)
{
    public const string BadCredentials = "Incorrect username or password";
    public const string Locked = PasswordGuard.AccountLocked;
    public const string Deactivated = "Account is deactivated";
    public const string NotVerified = "Account not verified";

    /// <summary>Reported per outcome: success, failure, locked, inactive, unverified (for metrics; never the username).</summary>
    public event Action<string>? Attempted;

    /// <exception cref="OAuthException">invalid_grant with API.md's texts; 429 (RetryAfter) when locked</exception>
    public async Task<User> CheckAsync(string username, string password, string? clientIp, CancellationToken ct)
    {
        if (username.Length > 255 || password.Length > 1024) throw OAuthException.InvalidGrant(BadCredentials, "oversized credentials");
        await ReserveAsync(username, clientIp, ct);
        var user = UserRules.IsValidUsername(username) ? await users.FindByUsernameAsync(username, ct) : null;
        if (!hasher.Verify(password, user?.PasswordHash))
        {
            Attempted?.Invoke("failure");
            throw OAuthException.InvalidGrant(BadCredentials, user is null ? "unknown user" : "wrong password");
        }
        await guard.SucceededAsync(username, clientIp, ct);
        if (!user!.IsActive) { Attempted?.Invoke("inactive"); throw OAuthException.InvalidGrant(Deactivated); }
        if (!user.IsVerified) { Attempted?.Invoke("unverified"); throw OAuthException.InvalidGrant(NotVerified); }
        await users.RecordLoginAsync(user.Id, ct);
        Attempted?.Invoke("success");
        return user;
    }

    /// <summary>
    /// Re-authentication of a signed-in <paramref name="user"/> (current_password): the same guard
    /// and count as a login, so a stolen token or session cannot be used to guess the password.
    /// </summary>
    /// <exception cref="OAuthException">429 (RetryAfter) when the account or the address is locked</exception>
    public async Task<bool> VerifyAsync(User user, string password, string? clientIp, CancellationToken ct)
    {
        await ReserveAsync(user.Username, clientIp, ct);
        if (password.Length > 1024 || !hasher.Verify(password, user.PasswordHash))
        {
            Attempted?.Invoke("failure");
            return false;
        }
        await guard.SucceededAsync(user.Username, clientIp, ct);
        return true;
    }

    private async Task ReserveAsync(string username, string? clientIp, CancellationToken ct)
    {
        try { await guard.ReserveAsync(username, clientIp, ct); }
        catch (ThrottledException)
        {
            Attempted?.Invoke("locked");
            throw;
        }
    }
}
