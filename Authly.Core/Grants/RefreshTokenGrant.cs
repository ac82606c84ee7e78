using System.Security.Cryptography;
using System.Text;
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
public sealed class RefreshTokenGrant(RefreshTokenStore refreshTokens,
    ScopeStore scopeStore, TokenIssuer issuer, JwtIssuer jwt) : IGrantHandler
{
    public string GrantType => GrantTypes.RefreshToken;

    public async Task<TokenResponse> HandleAsync(TokenRequest request, Client? client, CancellationToken ct)
    {
        var token = request.Required(Parameters.RefreshToken);
        // RFC 8707 §2: a malformed resource is refused before the token is touched.
        var requestedResources = ResourceIndicators.Parse(request[Parameters.Resource]);

        // Read before the rotation takes its pooled connection: the losers of a burst on one token hold theirs while they
        // wait for the winner's row lock, so a winner that needed a second connection (a scope change empties this cache)
        // would wait out the pool's timeout and fail everyone.
        var activeScopes = await scopeStore.ActiveAsync(ct);
        // One connection and one transaction from here to CommitAsync: the rotation, the user read, the successor and
        // its access-token link. A failure anywhere rolls all of it back, so the client's retry finds its token current.
        await using var rotation = await refreshTokens.RotateAsync(token, client?.ClientId, request.Scope, ct);
        var row = rotation.Token;

        // RFC 6749 §6: the refresh token must have been issued to the authenticated client. The rotation did not touch
        // another client's token, so a client presenting it can neither burn it nor revoke its family.
        if (rotation.Status == RefreshTokenStore.RotateStatus.OtherClient)
        {
            if (row!.ClientId is not null && client is null)
                throw OAuthException.InvalidClient("refresh token belongs to a client and no client authenticated");
            throw OAuthException.InvalidGrant("The refresh token is invalid", "refresh token issued to another client");
        }

        // RFC 6749 §6: a requested scope MUST NOT include any scope not originally granted. Checked for a token that was
        // current before this request (rotated by it, which disposing uncommitted rolls back, or expired, or in a revoked
        // family), so a refused request does not burn it (its retry would then look like reuse and revoke the family).
        // A token rotated before goes on to reuse detection, whatever scope it asks for.
        var requested = ScopeSet.Parse(request.Scope);
        if (row is not null && (rotation.Status == RefreshTokenStore.RotateStatus.Rotated || row.RotatedAt is null)
            && !ScopeDecision.Narrows(requested, ScopeSet.Parse(row.Scope)))
            throw OAuthException.InvalidScope("The requested scope exceeds the scope originally granted");
        // RFC 8707: likewise the resources may only narrow those of the original grant (kept with the family), and each must
        // still be registered for the client; checked like the scope, so a refused request does not burn the token.
        IReadOnlyList<string> resources = [];
        if (row is not null && (rotation.Status == RefreshTokenStore.RotateStatus.Rotated || row.RotatedAt is null))
        {
            resources = ResourceIndicators.Narrow(requestedResources, row.Resources);
            if (client is not null) ResourceIndicators.CheckAllowed(resources, client, jwt.Audience);
            else if (resources.Count > 0) throw new OAuthException(OAuthErrors.InvalidTarget, "The resource is not registered for this client");
        }

        // RFC 9449 §5: a bound family is refreshed only with a proof by its key. Checked like the scope, for a token current
        // before this request and for a retry, so a thief holding the token but not the key neither gets tokens nor burns it.
        if (row?.DpopJkt is { } boundTo
            && (rotation.Status is RefreshTokenStore.RotateStatus.Rotated or RefreshTokenStore.RotateStatus.Retried || row.RotatedAt is null)
            && (request.Dpop is not { } proof || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(proof.Jkt), Encoding.ASCII.GetBytes(boundTo))))
            throw new OAuthException(request.Dpop is null ? OAuthErrors.InvalidDpopProof : OAuthErrors.InvalidGrant,
                request.Dpop is null ? "A DPoP proof is required to use this refresh token" : "The refresh token is bound to another DPoP key",
                "DPoP-bound refresh token without its key's proof");

        switch (rotation.Status)
        {
            case RefreshTokenStore.RotateStatus.Retried:
                // A retry within AUTHLY_REFRESH_RETRY_GRACE_SECONDS after a lost answer: the same answer again.
                return rotation.RetriedResponse!;
            case RefreshTokenStore.RotateStatus.Reused:
                throw OAuthException.InvalidGrant("The refresh token is invalid", $"reuse of a rotated token; family {row!.FamilyId} revoked");
            case RefreshTokenStore.RotateStatus.Unknown:
                throw OAuthException.InvalidGrant("The refresh token is invalid", "unknown refresh token");
            case RefreshTokenStore.RotateStatus.Expired:
                throw OAuthException.InvalidGrant("The refresh token has expired");
            case RefreshTokenStore.RotateStatus.Revoked:
                throw OAuthException.InvalidGrant("The refresh token has been revoked");
        }

        // The user as the rotation's transaction read them (the same round trip as the rotation), not from a cache:
        // a deactivation commits before its revocation of the user's families, so it is seen here or revokes this one.
        var user = rotation.User;
        if (user is null || !user.IsActive)
        {
            await refreshTokens.RevokeFamilyAsync(rotation, "user inactive", ct);
            throw OAuthException.InvalidGrant("The refresh token is invalid", "user missing or deactivated");
        }

        // The row's scope is the one checked above (a refresh token's scope never changes); the decision checks it again
        // and narrows to what the user and client may still have.
        var granted = ScopeDecision.Decide(GrantType, requested, activeScopes, client, user, ScopeSet.Parse(row!.Scope));
        // The new refresh token keeps the original scope (RFC 6749 §6), the access token gets the narrowed one.
        var response = await issuer.ForRotationAsync(rotation, user, granted.Scope, request.Dpop, ct, resources);
        await refreshTokens.CommitAsync(rotation, response, ct);
        return response;
    }
}
