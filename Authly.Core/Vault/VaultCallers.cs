using Authly.Clients;
using Authly.Tokens;
using Authly.Users;

namespace Authly.Vault;

/// <summary>Turns a bearer access token of this server into a <see cref="VaultCaller"/>, or null when it is not valid.</summary>
public sealed class VaultCallers(TokenIntrospection introspection, UserStore users, ClientStore clients)
{
    public async Task<VaultCaller?> FromBearerAsync(string? bearer, string? ip, CancellationToken ct)
    {
        if (bearer is null) return null;
        var claims = await introspection.ValidateAccessTokenAsync(bearer, ct);
        if (claims is null) return null;
        if (claims.UserId is { } userId)
        {
            // Checked per call: a deactivated user's tokens stop reaching the vault at once.
            if (await users.FindByIdAsync(userId, ct) is not { IsActive: true }) return null;
            return VaultCaller.User(userId, claims.ClientId == TokenIssuer.FirstPartyClientId ? null : claims.ClientId, claims.Scopes, ip);
        }
        if (await clients.FindActiveAsync(claims.ClientId, ct) is null) return null;
        return VaultCaller.Client(claims.ClientId, claims.Scopes, ip);
    }
}
