using Authly.Configuration;
using Authly.Security;
using Microsoft.Extensions.Logging;

namespace Authly.Users;

/// <summary>
/// Creates the first admin from AUTHLY_ADMIN_USERNAME/PASSWORD/EMAIL. With a password given it
/// is final (unless it is below the length rule, which embedded mode only accepts: then it must be
/// changed at first login); without one a generated password is printed once and must be changed at first
/// login. An existing account is never changed: not its password, and a non-admin is never
/// promoted silently.
/// </summary>
public sealed class AdminBootstrap(UserStore users, PasswordHasher hasher, AuthlyOptions options, ILogger<AdminBootstrap> log)
{
    public sealed record Result(User User, bool Created, string? GeneratedPassword);

    public async Task<Result> RunAsync(CancellationToken ct)
    {
        var existing = await users.FindByUsernameAsync(options.AdminUsername, ct);
        if (existing is not null)
        {
            if (!existing.IsAdmin)
                log.LogWarning("AUTHLY_ADMIN_USERNAME '{Username}' names an existing account that is not an admin; it was left unchanged. " +
                               "Promote it through the admin API if that is intended.", existing.Username);
            else if (options.AdminPassword is not null)
                log.LogInformation("Admin account '{Username}' already exists; AUTHLY_ADMIN_PASSWORD does not reset an existing password.", existing.Username);
            return new Result(existing, false, null);
        }

        var generated = options.AdminPassword is null ? OpaqueToken.New(18) : null;
        var created = await users.CreateAsync(options.AdminUsername, options.AdminEmail, hasher.Hash(options.AdminPassword ?? generated!),
            isActive: true, isVerified: true, isAdmin: true, requiresPasswordChange: generated is not null || options.AdminPasswordIsWeak, ct);
        if (created is null)
        {
            // Another node created it between our read and insert, or the email is taken.
            var raced = await users.FindByUsernameAsync(options.AdminUsername, ct)
                        ?? throw new InvalidOperationException($"Cannot create the admin account: the email '{options.AdminEmail}' belongs to another user. Set AUTHLY_ADMIN_EMAIL.");
            return new Result(raced, false, null);
        }
        log.LogInformation("Created admin account '{Username}'.", created.Username);
        return new Result(created, true, generated);
    }
}
