using Authly.Clients;
using Authly.Configuration;
using Authly.OAuth;
using Authly.OAuth.Dpop;
using Authly.Scopes;
using Authly.Telemetry;

namespace Authly.Grants;

/// <summary>
/// The token endpoint's engine: authenticate the client, check the grant type is present,
/// supported and allowed for the client, check scope syntax, then hand over to the grant.
/// </summary>
public sealed class GrantEngine(ClientAuthenticator authenticator, IEnumerable<IGrantHandler> handlers, AuthlyOptions options, DpopProofValidator dpop)
{
    private readonly Dictionary<string, IGrantHandler> _handlers = handlers.ToDictionary(h => h.GrantType, StringComparer.Ordinal);

    // One span name per supported grant, made once; an unknown grant_type (attacker-chosen text) is "token other".
    private readonly Dictionary<string, string> _spanNames = handlers.ToDictionary(h => h.GrantType, h => "token " + h.GrantType, StringComparer.Ordinal);

    public event Action<string, string>? Completed;

    public IEnumerable<string> SupportedGrantTypes => _handlers.Keys;

    public async Task<TokenResponse> HandleAsync(TokenRequest request, CancellationToken ct)
    {
        var grantType = request.GrantType;
        using var span = AuthlyTracing.Source.StartActivity(
            grantType is not null && _spanNames.TryGetValue(grantType, out var spanName) ? spanName : "token other");
        try
        {
            // RFC 6749 §4.1.3/§4.3.2/§4.4.2/§6: grant_type is REQUIRED.
            if (grantType is null) throw OAuthException.InvalidRequest("The grant_type parameter is required");
            var client = await authenticator.AuthenticateAsync(request.Form, request.BasicCredentials, ct);
            // RFC 6749 §5.2: unsupported_grant_type for a grant the server does not support.
            if (!_handlers.TryGetValue(grantType, out var handler)) throw OAuthException.UnsupportedGrantType($"grant_type '{grantType}'");
            // RFC 6749 §5.2: invalid_client covers "no client authentication included"; a public client has none,
            // so it is not the unauthorized_client of a client that authenticated but may not use the grant.
            if (handler.RequiresClientAuthentication && client is null or { IsPublic: true })
                throw OAuthException.InvalidClient($"grant {grantType} needs an authenticated confidential client");
            // RFC 6749 §5.2: unauthorized_client when this client may not use this grant.
            if (client is not null && !client.AllowsGrant(grantType))
                throw OAuthException.UnauthorizedClient("The client is not allowed to use this grant type", $"client {client.ClientId}, grant {grantType}");
            // FAPI 2.0 Security Profile §5.3.2.2: no resource owner password credentials grant.
            if (grantType == GrantTypes.Password && Fapi2Profile.AppliesTo(options, client))
                throw OAuthException.UnauthorizedClient("The FAPI 2.0 profile does not allow the password grant", $"client {client?.ClientId}");
            // RFC 6749 §3.3: a malformed scope is invalid_scope before any grant logic runs.
            _ = ScopeSet.Parse(request.Scope);
            // RFC 8707: only the grants that honour resource take it.
            ResourceIndicators.CheckGrant(grantType, request);
            request = await BindAsync(request, client, ct);
            var response = await handler.HandleAsync(request, client, ct);
            Completed?.Invoke(grantType, "success");
            span?.SetTag("oauth.grant_type", grantType);
            return response;
        }
        catch (Exception e) when (e is OAuthException or ThrottledException)
        {
            var error = e is OAuthException o ? o.Error : ((ThrottledException)e).OAuthError;
            Completed?.Invoke(grantType is not null && _handlers.ContainsKey(grantType) ? grantType : "other", error);
            span.Fail(error);
            throw;
        }
    }

    /// <summary>
    /// RFC 9449 §5: a token request with a DPoP proof gets tokens bound to its key; a client registered with
    /// dpop_bound_access_tokens (§5.2) must send one. The proof is checked once, here, for every grant.
    /// </summary>
    private async Task<TokenRequest> BindAsync(TokenRequest request, Client? client, CancellationToken ct)
    {
        if (request.DpopProofs.Count == 0)
        {
            if (client is { DpopBoundAccessTokens: true })
                throw new OAuthException(OAuthErrors.InvalidDpopProof, "A DPoP proof is required for this client", $"client {client.ClientId} has dpop_bound_access_tokens");
            // FAPI 2.0 Security Profile §5.3.2.1: sender-constrained access tokens; Authly's sender constraint is DPoP.
            if (Fapi2Profile.AppliesTo(options, client))
                throw new OAuthException(OAuthErrors.InvalidDpopProof, "A DPoP proof is required under the FAPI 2.0 profile", $"client {client?.ClientId} is under the fapi2 profile");
            return request;
        }
        var url = request.RequestUrl ?? throw new InvalidOperationException("A token request with a DPoP proof needs its URL.");
        var proof = await dpop.ValidateAsync(request.DpopProofs, "POST", url, accessToken: null, atResource: false, ct);
        return request with { Dpop = new DpopBinding(proof.Jkt, BindsRefreshToken: client is null or { IsPublic: true }) };
    }
}
