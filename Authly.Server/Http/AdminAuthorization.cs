using Authly.Admin;
using Authly.Configuration;
using Authly.OAuth;

namespace Authly.Server.Http;

/// <summary>The scope an admin route needs, read by <see cref="AdminAuthorizationFilter"/>.</summary>
public sealed record AdminScope(string Scope);

/// <summary>
/// Admin API gate, in API.md's order: enabled (503), localhost only (403), a valid admin
/// token (401/403), the route's admin scope (403).
/// </summary>
public sealed class AdminAuthorizationFilter(AdminAccess access, AuthlyOptions options, ClientAddress address) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!options.AdminApiEnabled)
            throw new AuthlyException(503, "Admin API is currently disabled", "ADMIN_API_DISABLED");
        if (options.AdminApiLocalhostOnly && !address.IsLocalOrInProcess(http))
            throw new AuthlyException(403, "Admin API access restricted to localhost only", "ADMIN_API_LOCALHOST_ONLY");
        var scope = http.GetEndpoint()?.Metadata.GetMetadata<AdminScope>()?.Scope
                    ?? throw new InvalidOperationException($"Admin route {http.Request.Path} declares no AdminScope");
        var decision = await access.DecideAsync(BasicCredentials.Bearer(http.Request), scope, http.RequestAborted);
        switch (decision.Outcome)
        {
            case AdminAccess.Outcome.NoToken:
            case AdminAccess.Outcome.InvalidToken:
                http.Response.Headers.WWWAuthenticate = BearerChallenge.Header(decision.Outcome == AdminAccess.Outcome.InvalidToken ? OAuthErrors.InvalidToken : null);
                throw new AuthlyException(401, decision.Outcome == AdminAccess.Outcome.NoToken ? "Not authenticated" : "Invalid or expired token");
            case AdminAccess.Outcome.NotAdmin:
                throw new AuthlyException(403, "Administrative privileges required");
            case AdminAccess.Outcome.MissingScope:
                http.Response.Headers.WWWAuthenticate = BearerChallenge.Header(OAuthErrors.InsufficientScope, scope: scope);
                throw new AuthlyException(403, $"Insufficient scope: requires {scope}");
        }
        http.Items[typeof(AdminAccess.Decision)] = decision;
        return await next(context);
    }
}
