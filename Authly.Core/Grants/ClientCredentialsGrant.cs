using Authly.Clients;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Tokens;

namespace Authly.Grants;

/// <summary>RFC 6749 §4.4: a confidential client acting for itself. No refresh token (§4.4.3).</summary>
public sealed class ClientCredentialsGrant(TokenIssuer issuer, ScopeStore scopeStore, JwtIssuer jwt) : IGrantHandler
{
    public string GrantType => GrantTypes.ClientCredentials;
    public bool RequiresClientAuthentication => true;

    public async Task<TokenResponse> HandleAsync(TokenRequest request, Client? client, CancellationToken ct)
    {
        // RFC 6749 §4.4.2: the client MUST authenticate; only confidential clients can.
        if (client is null || client.IsPublic)
            throw OAuthException.InvalidClient("client_credentials needs an authenticated confidential client");

        // RFC 6749 §4.4.2 / §3.3: the client's scopes, never one that needs a user (ScopeDecision).
        var granted = ScopeDecision.Decide(GrantType, ScopeSet.Parse(request.Scope), await scopeStore.ActiveAsync(ct), client, user: null);
        // RFC 8707 §2: the resources the token is for, each registered for the client.
        var resources = ResourceIndicators.CheckAllowed(ResourceIndicators.Parse(request[Parameters.Resource]), client, jwt.Audience);
        return await issuer.ForClientAsync(client.ClientId, granted.Scope, request.Dpop, ct, resources);
    }
}
