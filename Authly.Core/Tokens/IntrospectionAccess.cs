using Authly.Clients;
using Authly.Configuration;
using Authly.Counters;
using Authly.OAuth;

namespace Authly.Tokens;

/// <summary>
/// RFC 7662 §2.1 caller authentication for introspection: a confidential client's credentials,
/// or a bearer token carrying the 'introspect' scope. Unauthenticated calls are allowed only while
/// AUTHLY_INTROSPECTION_REQUIRE_AUTH=false (the default in embedded and testing mode; production
/// warns loudly) and are rate limited per IP. A public client's id is no authentication: it is refused.
/// </summary>
public sealed class IntrospectionAccess(ClientAuthenticator authenticator, TokenIntrospection introspection, RateLimiter limiter, AuthlyOptions options)
{
    public const string IntrospectScope = Scopes.UserScopePolicy.IntrospectScope;

    public async Task CheckAsync(IReadOnlyDictionary<string, string> form, ClientCredentials? basic, string? bearer, string? ip, CancellationToken ct)
    {
        if (basic is not null || form.ContainsKey(Parameters.ClientSecret))
        {
            var client = await authenticator.AuthenticateAsync(form, basic, ct);
            if (client is null || client.IsPublic) throw OAuthException.InvalidClient("introspection needs a confidential client");
            return;
        }
        if (bearer is not null)
        {
            var caller = await introspection.ValidateAccessTokenAsync(bearer, ct)
                         ?? throw OAuthException.InvalidToken("The access token is invalid or expired");
            if (!caller.Scopes.Contains(IntrospectScope))
                throw OAuthException.InsufficientScope("The access token lacks the 'introspect' scope");
            return;
        }
        if (options.IntrospectionRequireAuth) throw OAuthException.InvalidClient("introspection requires authentication");
        await limiter.CheckAsync("introspect-anonymous", ip, ct);
    }
}
