using Authly.Clients;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Tokens;

namespace Authly.Grants;

/// <summary>RFC 6749 §4.4: a confidential client acting for itself. No refresh token (§4.4.3).</summary>
public sealed class ClientCredentialsGrant(TokenIssuer issuer, ScopeStore scopeStore) : IGrantHandler
{
    public string GrantType => GrantTypes.ClientCredentials;
    public bool RequiresClientAuthentication => true;

    public async Task<TokenResponse> HandleAsync(TokenRequest request, Client? client, CancellationToken ct)
    {
        // RFC 6749 §4.4.2: the client MUST authenticate; only confidential clients can.
        if (client is null || client.IsPublic)
            throw OAuthException.InvalidClient("client_credentials needs an authenticated confidential client");

        var active = await scopeStore.ActiveAsync(ct);
        var requested = ScopeSet.Parse(request.Scope);
        // §4.4.2 / §3.3: a requested scope must be among the client's; with none requested, the client's scopes.
        if (!client.AllowsScopes(requested))
            throw OAuthException.InvalidScope("The requested scope is not allowed for this client",
                $"client {client.ClientId} asked for {string.Join(' ', requested.Except(client.Scopes))}");
        var granted = (requested.Count > 0 ? requested : (IEnumerable<string>)client.Scopes)
            .Where(active.ContainsKey)
            .Where(s => !UserScopePolicy.NeedsUser(s))
            .ToList();
        // §5.2: a request none of whose scope can be granted (admin:* and account:* are for users only) is invalid_scope,
        // as in the password grant, rather than a token that grants nothing.
        if (requested.Count > 0 && granted.Count == 0)
            throw OAuthException.InvalidScope("None of the requested scopes can be granted", $"client {client.ClientId} asked only for admin or inactive scopes");
        return await issuer.ForClientAsync(client.ClientId, ScopeSet.Join(granted), ct);
    }
}
