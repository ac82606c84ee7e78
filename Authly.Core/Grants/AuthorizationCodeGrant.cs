using Authly.Authorization;
using Authly.Clients;
using Authly.OAuth;
using Authly.Oidc;
using Authly.Scopes;
using Authly.Tokens;

namespace Authly.Grants;

/// <summary>
/// RFC 6749 §4.1.3 with OAuth 2.1 and RFC 7636: the code is single-use, bound to the client and
/// the redirect URI, and PKCE S256 is always verified. A replayed code revokes what its first
/// use issued (§4.1.2). ID token when openid was granted; refresh token for offline_access or
/// when the client is registered for the refresh_token grant.
/// </summary>
public sealed class AuthorizationCodeGrant(AuthorizationCodeStore codes, RefreshTokenStore refreshTokens, RevocationList revocations,
    ScopeStore scopeStore, TokenIssuer issuer, IdTokenIssuer idTokens, JwtIssuer jwt) : IGrantHandler
{
    public string GrantType => GrantTypes.AuthorizationCode;

    public async Task<TokenResponse> HandleAsync(TokenRequest request, Client? client, CancellationToken ct)
    {
        // RFC 6749 §4.1.3: public clients identify themselves with client_id.
        if (client is null) throw OAuthException.InvalidClient("authorization_code needs client_id");
        var codeValue = request.Required(Parameters.Code);
        var redirectUri = request.Required(Parameters.RedirectUri);
        var verifier = request.Required(Parameters.CodeVerifier);
        // RFC 8707 §2: a malformed resource is refused before the code is touched.
        var requestedResources = ResourceIndicators.Parse(request[Parameters.Resource]);

        // Read before the redemption takes its pooled connection: nothing may wait for a second connection while holding
        // one, since the losers of a burst on one code hold theirs while they wait for the winner's row lock, and a winner
        // waiting for the pool then waits out its timeout and fails everyone (a scope change empties this cache).
        var activeScopes = await scopeStore.ActiveAsync(ct);
        // One connection and one transaction: the consumption, the user read, the refresh family and the record of what
        // was issued commit together. Disposed uncommitted (a failure while issuing), nothing of it stays and nothing was
        // answered, so the code is unused again.
        await using var redemption = await codes.RedeemAsync(codeValue, client.ClientId, ct);
        var code = redemption.Code;
        if (code is null) throw OAuthException.InvalidGrant("The authorization code is invalid", "unknown code");
        // §4.1.3: the code must have been issued to this client. Checked before the replay rule, and
        // without consuming it: another client presenting a code it intercepted must be able neither
        // to burn it nor to revoke what its rightful client obtained with it.
        if (code.ClientId != client.ClientId) throw OAuthException.InvalidGrant("The authorization code is invalid", "code issued to another client");
        if (!redemption.Consumed)
        {
            // §4.1.2: the code was used before; revoke everything issued from it. A first redemption still issuing holds
            // the row until it commits what it issued, and the mark waits for it; one that recorded nothing yet sees the mark.
            var issued = await codes.MarkReplayedAsync(redemption, ct) ?? code;
            await redemption.DisposeAsync(); // its connection back to the pool before the revocation takes one
            await RevokeIssuedAsync(issued.FamilyId, issued.AccessJti, issued.AccessExpiresAt, ct);
            throw OAuthException.InvalidGrant("The authorization code is invalid", "code replay; issued tokens revoked");
        }
        // A refused redemption burns the code (committed before the error), as before: it is single-use whatever came of it.
        if (code.Expired) throw await BurnedAsync(redemption, OAuthException.InvalidGrant("The authorization code has expired"), ct);
        // RFC 6749 §4.1.3: redirect_uri must be identical to the one in the authorization request.
        if (!string.Equals(code.RedirectUri, redirectUri, StringComparison.Ordinal))
            throw await BurnedAsync(redemption, OAuthException.InvalidGrant("redirect_uri does not match the authorization request"), ct);
        // RFC 7636 §4.6.
        if (!Pkce.Verify(verifier, code.CodeChallenge)) throw await BurnedAsync(redemption, OAuthException.InvalidGrant("PKCE verification failed"), ct);

        // The user as the redemption's transaction read them, not from a cache: a deactivated user is refused.
        var user = redemption.User;
        if (user is null || !user.IsActive)
            throw await BurnedAsync(redemption, OAuthException.InvalidGrant("The authorization code is invalid", "user missing or deactivated"), ct);
        // The scope the user approved, as far as the user and the client may still have it (ScopeDecision).
        var granted = ScopeDecision.Decide(GrantType, ScopeSet.Parse(code.Scope), activeScopes, client, user);
        // RFC 8707 §2.2: the token request may narrow the resources asked for at /authorize, never widen them; and each must
        // still be registered for the client. Refused like the other checks above: the code is single-use whatever came of it.
        IReadOnlyList<string> resources;
        try { resources = ResourceIndicators.CheckAllowed(ResourceIndicators.Narrow(requestedResources, code.Resources), client, jwt.Audience); }
        catch (OAuthException refusal) { throw await BurnedAsync(redemption, refusal, ct); }

        var (response, familyId, access) = await issuer.ForUserAsync(user, client.ClientId, granted.Scope, request.Dpop, redemption.Transaction, ct, granted.RefreshToken,
            resources, code.Resources);
        if (code.SessionId is { } sid && client.BackchannelLogoutUri is not null)
            await Sessions.SessionStore.RecordClientAsync(redemption.Transaction, sid, client.ClientId, user.Id, ct);
        var replayedMeanwhile = await codes.CompleteAsync(redemption, familyId, access.Jti, access.Expires, ct);
        await redemption.DisposeAsync(); // committed: its connection back to the pool before anything else takes one
        if (replayedMeanwhile)
        {
            // §4.1.2: the code was replayed while it was being redeemed; the replay could not see these tokens.
            await RevokeIssuedAsync(familyId, access.Jti, access.Expires.UtcDateTime, ct);
            throw OAuthException.InvalidGrant("The authorization code is invalid", "code replayed during its redemption; issued tokens revoked");
        }
        if (granted.IdToken)
            response = response with
            {
                IdToken = await idTokens.CreateAsync(user, client.ClientId, granted.Scopes, code.Nonce, code.AuthTime, code.SessionId, response.AccessToken,
                    code.Amr ?? Mfa.AuthenticationMethods.AfterPassword, ct),
            };
        return response;
    }

    /// <summary>The refusal, once the consumption is committed.</summary>
    private async Task<OAuthException> BurnedAsync(AuthorizationCodeStore.Redemption redemption, OAuthException refusal, CancellationToken ct)
    {
        await codes.BurnAsync(redemption, ct);
        return refusal;
    }

    // The family is revoked with every access token issued from it, the code's own included (its refresh row links it),
    // in one transaction; a code that issued no refresh token has only its access token to revoke.
    private async Task RevokeIssuedAsync(Guid? familyId, string? accessJti, DateTime? accessExpires, CancellationToken ct)
    {
        if (familyId is { } family) await refreshTokens.RevokeFamilyAsync(family, "authorization code replay", ct);
        else if (accessJti is not null && accessExpires is { } exp)
            await revocations.RevokeAsync(accessJti, new DateTimeOffset(exp), ct);
    }
}
