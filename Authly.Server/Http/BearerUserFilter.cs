using Authly.OAuth;
using Authly.Tokens;
using Authly.Users;

namespace Authly.Server.Http;

/// <summary>The account scope a /api/v1 account route needs beyond a valid user token, read by <see cref="BearerUserFilter"/>.</summary>
public sealed record AccountScope(string Scope);

/// <summary>
/// For /api/v1 account routes: a valid user access token (401 otherwise) and, where the route declares an
/// <see cref="AccountScope"/>, a token <see cref="AccountAccess"/> allows for it (403 insufficient_scope with the
/// RFC 6750 §3.1 challenge otherwise). The user and claims go in HttpContext.Items.
/// </summary>
public sealed class BearerUserFilter(TokenIntrospection introspection, UserStore users) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var token = BasicCredentials.Bearer(http.Request);
        var claims = token is null ? null : await introspection.ValidateAccessTokenAsync(token, http.RequestAborted);
        var user = claims?.UserId is { } id ? await users.FindByIdAsync(id, http.RequestAborted) : null;
        if (claims is null || user is not { IsActive: true })
        {
            http.Response.Headers.WWWAuthenticate = BearerChallenge.Header(token is null ? null : OAuthErrors.InvalidToken);
            throw new AuthlyException(401, token is null ? "Not authenticated" : "Invalid or expired token");
        }
        if (http.GetEndpoint()?.Metadata.GetMetadata<AccountScope>() is { } needed && !AccountAccess.Allows(claims, needed.Scope))
        {
            http.Response.Headers.WWWAuthenticate = BearerChallenge.Header(OAuthErrors.InsufficientScope, scope: needed.Scope);
            throw new AuthlyException(403, $"Insufficient scope: requires {needed.Scope} (or the first-party CLI)", "INSUFFICIENT_SCOPE");
        }
        http.Items[typeof(User)] = user;
        http.Items[typeof(AccessTokenClaims)] = claims;
        return await next(context);
    }

    public static User UserOf(HttpContext http) => (User)http.Items[typeof(User)]!;
    public static AccessTokenClaims ClaimsOf(HttpContext http) => (AccessTokenClaims)http.Items[typeof(AccessTokenClaims)]!;
}
