using Authly.Clients;
using Authly.Configuration;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Tokens;
using Authly.Users;

namespace Authly.Grants;

/// <summary>
/// RFC 6749 §4.3 resource owner password credentials. Not in OAuth 2.1; kept for Authly's CLI,
/// scripts and proxies, and switchable off (AUTHLY_PASSWORD_GRANT_ENABLED=false). Without a client
/// it acts for the first-party CLI and yields first-party scopes only (RFC 9700 §4.15: the grant
/// exposes the password to its client, so only Authly's own client gets Authly's own scopes; a script
/// that needs anything else registers a client for the password grant).
/// </summary>
public sealed class PasswordGrant(PasswordLogin login, ScopeStore scopeStore, TokenIssuer issuer, AuthlyOptions options) : IGrantHandler
{
    public string GrantType => GrantTypes.Password;

    public async Task<TokenResponse> HandleAsync(TokenRequest request, Client? client, CancellationToken ct)
    {
        if (!options.PasswordGrantEnabled) throw OAuthException.UnsupportedGrantType("password grant disabled by configuration");
        var username = request.Required(Parameters.Username);
        var password = request.Required(Parameters.Password);
        var user = await login.CheckAsync(username, password, request.RemoteIp, ct);
        var scope = await GrantedScopeAsync(user, client, request.Scope, ct);
        var (response, _, _) = await issuer.ForUserAsync(user, client?.ClientId, scope, ct);
        return response with { RequiresPasswordChange = user.RequiresPasswordChange };
    }

    /// <summary>
    /// requested ∩ active scopes ∩ what the user may hold ∩ the client's (with a client) or the first-party
    /// scopes (without). Nothing requested: the default scopes with a client; without one, the account
    /// scopes (what the CLI needs for the caller's own account; admin scopes are asked for by name).
    /// </summary>
    private async Task<string> GrantedScopeAsync(User user, Client? client, string? requestedScope, CancellationToken ct)
    {
        var active = await scopeStore.ActiveAsync(ct);
        var requested = ScopeSet.Parse(requestedScope);
        IEnumerable<string> candidates = requested.Count > 0 ? requested
            : client is null ? active.Keys.Where(s => s.StartsWith(UserScopePolicy.AccountPrefix, StringComparison.Ordinal))
            : active.Values.Where(s => s.IsDefault).Select(s => s.ScopeName);
        var granted = candidates.Where(active.ContainsKey).Where(s => UserScopePolicy.MayHold(user, s));
        granted = client is null
            ? granted.Where(UserScopePolicy.IsFirstParty)
            : granted.Where(s => client.Scopes.Contains(s, StringComparer.Ordinal));
        var list = granted.ToList();
        if (requested.Count > 0 && list.Count == 0)
            throw OAuthException.InvalidScope("None of the requested scopes can be granted");
        return ScopeSet.Join(list);
    }
}
