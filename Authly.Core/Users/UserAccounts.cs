using Authly.Counters;
using Authly.Security;
using Authly.Sessions;
using Authly.Tokens;

namespace Authly.Users;

/// <summary>
/// Account operations shared by registration, the users API, the admin API and the CLI. Anything
/// that takes access away (deactivation, password reset or change) also revokes the user's
/// refresh tokens, the access tokens issued with them, and their sessions, at once.
/// </summary>
public sealed class UserAccounts(UserStore users, PasswordHasher hasher, RefreshTokenStore refreshTokens,
    SessionStore sessions, PasswordGuard guard, PasswordLogin login)
{
    public async Task<User> RegisterAsync(string? username, string? email, string? password, CancellationToken ct)
    {
        UserRules.CheckUsername(username);
        UserRules.CheckEmail(email);
        UserRules.CheckPassword(password);
        return await CreateOrThrowAsync(username!, email!, hasher.Hash(password!), isActive: true, isVerified: false, isAdmin: false, mustChange: false, ct);
    }

    /// <summary>Admin create. With <paramref name="generateTemporaryPassword"/>, returns a password shown once that must be changed at first login.</summary>
    public async Task<(User User, string? TemporaryPassword)> CreateAsync(UserProfile p, bool generateTemporaryPassword, CancellationToken ct)
    {
        UserRules.CheckUsername(p.Username);
        UserRules.CheckEmail(p.Email);
        UserRules.CheckProfile(p);
        string? temporary = null;
        if (generateTemporaryPassword) temporary = OpaqueToken.New(12);
        else UserRules.CheckPassword(p.Password);
        var user = await CreateOrThrowAsync(p.Username!, p.Email!, hasher.Hash(temporary ?? p.Password!), p.IsActive ?? true,
            p.IsVerified ?? false, p.IsAdmin ?? false, mustChange: temporary is not null || (p.RequiresPasswordChange ?? false), ct);
        var rest = p with { Username = null, Email = null, Password = null, IsActive = null, IsVerified = null, IsAdmin = null, RequiresPasswordChange = null };
        if (rest != new UserProfile()) user = await users.UpdateAsync(user.Id, rest, null, ct) ?? user;
        return (user, temporary);
    }

    private async Task<User> CreateOrThrowAsync(string username, string email, string hash, bool isActive, bool isVerified, bool isAdmin, bool mustChange, CancellationToken ct)
    {
        if (await users.FindByUsernameAsync(username, ct) is not null) throw AuthlyException.Validation("Username already taken", "username");
        return await users.CreateAsync(username, email, hash, isActive, isVerified, isAdmin, mustChange, ct)
               ?? throw AuthlyException.Validation("Username or email already registered", "email");
    }

    public async Task<User?> UpdateAsync(Guid id, UserProfile p, CancellationToken ct)
    {
        UserRules.CheckProfile(p);
        var hash = p.Password is null ? null : hasher.Hash(p.Password);
        var user = await users.UpdateAsync(id, p with { Password = null }, hash, ct);
        if (user is not null && (p.IsActive == false || p.Password is not null))
            await RevokeEverythingAsync(user.Id, p.IsActive == false ? "user deactivated" : "password changed by admin", ct);
        return user;
    }

    /// <summary>Admin reset: a new temporary password (shown once) or the given one; the user must change it at next login.</summary>
    public async Task<(User User, string Password)?> ResetPasswordAsync(Guid id, string? newPassword, CancellationToken ct)
    {
        if (newPassword is not null) UserRules.CheckPassword(newPassword, "new_password");
        var password = newPassword ?? OpaqueToken.New(12);
        var user = await users.UpdateAsync(id, new UserProfile { RequiresPasswordChange = true }, hasher.Hash(password), ct);
        if (user is null) return null;
        await RevokeEverythingAsync(id, "password reset", ct);
        await guard.UnlockAsync(user.Username, ct);
        return (user, password);
    }

    /// <summary>
    /// The user's own change: the current password must be right; the user's other refresh tokens
    /// (with their access tokens) and other sessions end, so whoever knew the old password is out.
    /// The caller keeps the token family of <paramref name="callerAccessJti"/> and the session <paramref name="callerSid"/>.
    /// The current password is checked through <see cref="PasswordLogin.VerifyAsync"/>: a wrong one counts toward the
    /// same lockout as a failed login (RFC 6749 §10.10), and a locked account or address is a 429 OAuthException.
    /// </summary>
    public async Task<User> ChangePasswordAsync(Guid id, string? currentPassword, string? newPassword, string? callerAccessJti, string? callerSid,
        string? clientIp, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(currentPassword)) throw AuthlyException.Validation("current_password is required", "current_password");
        UserRules.CheckPassword(newPassword, "new_password");
        var user = await users.FindByIdAsync(id, ct) ?? throw AuthlyException.Validation("User not found", "id");
        if (!await login.VerifyAsync(user, currentPassword, clientIp, ct)) throw AuthlyException.Validation("Current password is incorrect", "current_password");
        if (currentPassword == newPassword) throw AuthlyException.Validation("The new password must differ from the current one", "new_password");
        var updated = await users.UpdateAsync(id, new UserProfile { RequiresPasswordChange = false }, hasher.Hash(newPassword!), ct);
        await refreshTokens.RevokeAllForUserAsync(id, "password changed", callerAccessJti, ct);
        await sessions.EndAllForUserAsync(id, callerSid, ct);
        return updated!;
    }

    public async Task<bool> DeleteAsync(Guid id, CancellationToken ct)
    {
        var user = await users.FindByIdAsync(id, ct);
        if (user is null) return false;
        // Refused before anything is revoked: a refused delete of the last admin must change nothing
        // (it used to revoke that admin's tokens first). The DELETE itself still enforces the rule
        // under a lock; a concurrent race can at worst revoke tokens of an admin who stays.
        if (user.IsAdmin && user.IsActive && await users.CountActiveAdminsAsync(ct) <= 1)
            throw AuthlyException.Validation("This is the last active admin: it cannot be deleted", "id");
        await RevokeEverythingAsync(id, "user deleted", ct);
        return await users.DeleteAsync(id, ct);
    }

    public async Task<bool> UnlockAsync(Guid id, CancellationToken ct)
    {
        var user = await users.FindByIdAsync(id, ct);
        if (user is null) return false;
        await guard.UnlockAsync(user.Username, ct);
        return true;
    }

    /// <summary>Revokes every refresh family (and the access tokens issued with them) and ends every session.</summary>
    public async Task RevokeEverythingAsync(Guid id, string reason, CancellationToken ct)
    {
        // One transaction for all the families and their access tokens; idempotent, so a retried call completes an interrupted one.
        await refreshTokens.RevokeAllForUserAsync(id, reason, ct);
        await sessions.EndAllForUserAsync(id, ct);
    }
}
