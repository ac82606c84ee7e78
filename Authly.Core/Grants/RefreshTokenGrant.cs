using Authly.Clients;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Tokens;
using Authly.Users;

namespace Authly.Grants;

/// <summary>
/// RFC 6749 §6 with OAuth 2.1 §4.3.1 rotation: every use returns a new refresh token; a
/// rotated token presented again revokes its family and the access tokens issued from it, unless
/// it is the same client's retry of the family's latest rotation within the grace window
/// (AUTHLY_REFRESH_RETRY_GRACE_SECONDS), which gets the same answer again.
/// </summary>
public sealed class RefreshTokenGrant(RefreshTokenStore refreshTokens, UserStore users,
    ScopeStore scopeStore, TokenIssuer issuer) : IGrantHandler
{
    public string GrantType => GrantTypes.RefreshToken;

    public async Task<TokenResponse> HandleAsync(TokenRequest request, Client? client, CancellationToken ct)
    {
        var token = request.Required(Parameters.RefreshToken);

        // Check the binding before rotating, so a client presenting another client's token cannot burn it.
        var peek = await refreshTokens.FindAsync(token, ct);
        if (peek is not null && peek.ClientId != client?.ClientId)
        {
            // RFC 6749 §6: the refresh token must have been issued to the authenticated client.
            if (peek.ClientId is not null && client is null)
                throw OAuthException.InvalidClient("refresh token belongs to a client and no client authenticated");
            throw OAuthException.InvalidGrant("The refresh token is invalid", "refresh token issued to another client");
        }

        // RFC 6749 §6: a requested scope MUST NOT include any scope not originally granted. Checked before rotating
        // a current token, so a refused request does not burn it (its retry would then look like reuse and revoke
        // the family). A rotated token goes on to rotation, where reuse is detected whatever scope it asks for.
        var requested = ScopeSet.Parse(request.Scope);
        if (peek is { RotatedAt: null } && !ScopeDecision.Narrows(requested, ScopeSet.Parse(peek.Scope)))
            throw OAuthException.InvalidScope("The requested scope exceeds the scope originally granted");

        // One transaction from here to CommitAsync: rotation, the user read, the successor and its access-token link.
        // A failure anywhere rolls all of it back, so the client's retry finds its token current, not reused.
        await using var rotation = await refreshTokens.RotateAsync(token, client?.ClientId, request.Scope, ct);
        switch (rotation.Status)
        {
            case RefreshTokenStore.RotateStatus.Retried:
                // A retry within AUTHLY_REFRESH_RETRY_GRACE_SECONDS after a lost answer: the same answer again.
                return rotation.RetriedResponse!;
            case RefreshTokenStore.RotateStatus.Reused:
                throw OAuthException.InvalidGrant("The refresh token is invalid", $"reuse of a rotated token; family {rotation.Token!.FamilyId} revoked");
            case RefreshTokenStore.RotateStatus.Unknown:
                throw OAuthException.InvalidGrant("The refresh token is invalid", "unknown refresh token");
            case RefreshTokenStore.RotateStatus.Expired:
                throw OAuthException.InvalidGrant("The refresh token has expired");
            case RefreshTokenStore.RotateStatus.Revoked:
                throw OAuthException.InvalidGrant("The refresh token has been revoked");
        }
        var row = rotation.Token!;

        var user = await users.FindByIdAsync(row.UserId, rotation.Transaction, ct);
        if (user is null || !user.IsActive)
        {
            await rotation.DisposeAsync(); // releases the family row, which the revocation locks
            await refreshTokens.RevokeFamilyAsync(row.FamilyId, "user inactive", ct);
            throw OAuthException.InvalidGrant("The refresh token is invalid", "user missing or deactivated");
        }

        // The row's scope is the one checked above (a refresh token's scope never changes); the decision checks it again
        // and narrows to what the user and client may still have.
        var granted = ScopeDecision.Decide(GrantType, requested, await scopeStore.ActiveAsync(ct), client, user, ScopeSet.Parse(row.Scope));
        // The new refresh token keeps the original scope (RFC 6749 §6), the access token gets the narrowed one.
        var response = await issuer.ForRotationAsync(rotation, user, granted.Scope, ct);
        await refreshTokens.CommitAsync(rotation, response, ct);
        return response;
    }
}
