using Authly.Clients;
using Authly.Configuration;
using Authly.Mfa;
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
public sealed class PasswordGrant(PasswordLogin login, SecondFactorPolicy secondFactors, ScopeStore scopeStore, TokenIssuer issuer,
    AuthlyOptions options) : IGrantHandler
{
    public string GrantType => GrantTypes.Password;

    /// <summary>The refusal for an account with (or required to have) a second factor: the grant has no way to ask for it.</summary>
    public const string SecondFactorRequired =
        "This account signs in with a second factor, which the password grant cannot ask for. Use the browser " +
        "(authorization code flow) or the device flow (RFC 8628) instead.";

    public async Task<TokenResponse> HandleAsync(TokenRequest request, Client? client, CancellationToken ct)
    {
        if (!options.PasswordGrantEnabled) throw OAuthException.UnsupportedGrantType("password grant disabled by configuration");
        var username = request.Required(Parameters.Username);
        var password = request.Required(Parameters.Password);
        var user = await login.CheckAsync(username, password, request.RemoteIp, ct);
        // Issue 16: checked after the password (it says nothing before the password is proven), and before anything is issued:
        // tokens from a password alone would be an amr downgrade of an account that has a second factor.
        if ((await secondFactors.ForAsync(user, ct)).Needed)
            throw OAuthException.InvalidGrant(SecondFactorRequired, "second factor required");
        // RFC 6749 §3.3: what it asked for that the user and client may have; without a client, first-party only (ScopeDecision).
        var granted = ScopeDecision.Decide(GrantType, ScopeSet.Parse(request.Scope), await scopeStore.ActiveAsync(ct), client, user);
        var (response, _, _) = await issuer.ForUserAsync(user, client?.ClientId, granted.Scope, request.Dpop, ct, granted.RefreshToken);
        return response with { RequiresPasswordChange = user.RequiresPasswordChange };
    }
}
