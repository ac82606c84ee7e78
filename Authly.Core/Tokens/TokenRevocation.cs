using Authly.Clients;
using Microsoft.Extensions.Logging;

namespace Authly.Tokens;

/// <summary>
/// RFC 7009. Revoking a refresh token revokes its family and the access tokens issued from it;
/// revoking an access token revokes that token only. Unknown tokens are not an error (§2.2).
/// A token issued to a confidential client can only be revoked by that client, authenticated;
/// a token of another client is left alone (§2.1).
/// </summary>
public sealed class TokenRevocation(JwtIssuer jwt, RevocationList revocations, RefreshTokenStore refreshTokens,
    ClientStore clients, ILogger<TokenRevocation> log)
{
    public async Task RevokeAsync(string token, string? tokenTypeHint, Client? caller, CancellationToken ct)
    {
        if (token.Length > 8192) return;
        if (tokenTypeHint != "refresh_token" && await RevokeAccessAsync(token, caller, ct)) return;
        if (await RevokeRefreshAsync(token, caller, ct)) return;
        if (tokenTypeHint == "refresh_token") await RevokeAccessAsync(token, caller, ct);
    }

    private async Task<bool> RevokeAccessAsync(string token, Client? caller, CancellationToken ct)
    {
        var claims = await jwt.ValidateAsync(token, ct);
        if (claims is null) return false;
        if (!await MayRevokeAsync(claims.ClientId, caller, ct)) return true;
        await revocations.RevokeAsync(claims.Jti, DateTimeOffset.FromUnixTimeSeconds(claims.Expires), ct);
        return true;
    }

    private async Task<bool> RevokeRefreshAsync(string token, Client? caller, CancellationToken ct)
    {
        if (token.Contains('.')) return false;
        var row = await refreshTokens.FindAsync(token, ct);
        if (row is null) return false;
        if (!await MayRevokeAsync(row.ClientId ?? TokenIssuer.FirstPartyClientId, caller, ct)) return true;
        // Complete when it returns (family and its access tokens, one transaction); a failure throws, so the
        // caller never hears 200 for a half-done revocation. Revoking a revoked family again completes it.
        await refreshTokens.RevokeFamilyAsync(row.FamilyId, "revoked (RFC 7009)", ct);
        return true;
    }

    private async Task<bool> MayRevokeAsync(string tokenClientId, Client? caller, CancellationToken ct)
    {
        if (caller is not null)
        {
            if (caller.ClientId == tokenClientId) return true;
            log.LogInformation("Client {Caller} tried to revoke a token of client {Owner}; ignored.", caller.ClientId, tokenClientId);
            return false;
        }
        // No client authenticated: the holder may revoke a token of a public client or the first-party CLI.
        if (tokenClientId == TokenIssuer.FirstPartyClientId) return true;
        var owner = await clients.FindActiveAsync(tokenClientId, ct);
        if (owner is null || owner.IsPublic) return true;
        log.LogInformation("Unauthenticated revocation of a token of confidential client {Owner}; ignored.", tokenClientId);
        return false;
    }
}
