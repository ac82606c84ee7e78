using Authly.Clients;
using Authly.Configuration;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Tokens;
using Authly.Users;

namespace Authly.Grants;

/// <summary>
/// RFC 6749 §4.3 resource owner password credentials. Not in OAuth 2.1; kept for Authly's CLI,
/// scripts and proxies, and switchable off (AUTHLY_PASSWORD_GRANT_ENABLED=false).
/// </summary>
public sealed class PasswordGrant(PasswordLogin login, ScopeStore scopeStore, TokenIssuer issuer, AuthlyOptions options) : IGrantHandler
{
    public string GrantType => GrantTypes.Password;

    public async Task<TokenResponse> HandleAsync(TokenRequest request, Client? client, CancellationToken ct)
    {
        if (!options.PasswordGrantEnabled) throw OAuthException.UnsupportedGrantType("password grant disabled by configuration");
        var username = request.Required(Parameters.Username);
        var password = request.Required(Parameters.Password);
        var user = await login.CheckAsync(username, password, ct);
        var scope = await GrantedScopeAsync(user, client, request.Scope, ct);
        var (response, _, _) = await issuer.ForUserAsync(user, client?.ClientId, scope, familyId: null, refreshScope: null, ct);
        return response with { RequiresPasswordChange = user.RequiresPasswordChange };
    }

    /// <summary>requested ∩ active scopes ∩ what the user may hold (∩ the client's, when there is one); nothing requested → the defaults.</summary>
    private async Task<string> GrantedScopeAsync(User user, Client? client, string? requestedScope, CancellationToken ct)
    {
        var active = await scopeStore.ActiveAsync(ct);
        var requested = ScopeSet.Parse(requestedScope);
        IEnumerable<string> candidates = requested.Count > 0 ? requested : active.Values.Where(s => s.IsDefault).Select(s => s.ScopeName);
        var granted = candidates.Where(active.ContainsKey).Where(s => UserScopePolicy.MayHold(user, s));
        if (client is not null) granted = granted.Where(s => client.Scopes.Contains(s, StringComparer.Ordinal));
        var list = granted.ToList();
        if (requested.Count > 0 && list.Count == 0)
            throw OAuthException.InvalidScope("None of the requested scopes can be granted");
        return ScopeSet.Join(list);
    }
}
