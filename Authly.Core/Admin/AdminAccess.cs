using Authly.Tokens;
using Authly.Users;

namespace Authly.Admin;

/// <summary>
/// Who may call the admin API: an active admin user whose access token carries the scope the
/// operation needs (admin:clients:read, admin:users:write, …).
/// </summary>
public sealed class AdminAccess(TokenIntrospection introspection, UserStore users)
{
    public enum Outcome { Allowed, NoToken, InvalidToken, NotAdmin, MissingScope }

    public sealed record Decision(Outcome Outcome, User? User = null, AccessTokenClaims? Claims = null);

    public async Task<Decision> DecideAsync(string? bearer, string requiredScope, CancellationToken ct)
    {
        if (bearer is null) return new Decision(Outcome.NoToken);
        var claims = await introspection.ValidateAccessTokenAsync(bearer, ct);
        if (claims?.UserId is not { } userId) return new Decision(Outcome.InvalidToken);
        var user = await users.FindByIdAsync(userId, ct);
        if (user is null || !user.IsActive) return new Decision(Outcome.InvalidToken);
        // Checked on every call, not only at issue: a demoted admin's tokens stop working at once.
        if (!user.IsAdmin) return new Decision(Outcome.NotAdmin, user, claims);
        if (!claims.Scopes.Contains(requiredScope)) return new Decision(Outcome.MissingScope, user, claims);
        return new Decision(Outcome.Allowed, user, claims);
    }
}
