using Authly.Configuration;
using Authly.Grants;
using Authly.Oidc;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Tokens;

namespace Authly.Server.Endpoints;

public static class DiscoveryEndpoints
{
    public static void MapDiscoveryEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/.well-known/openid-configuration", MetadataAsync).RequireCors(AuthlyWebApp.PublicCors).WithSummary("OpenID Connect Discovery 1.0");
        app.MapGet("/.well-known/oauth-authorization-server", MetadataAsync).RequireCors(AuthlyWebApp.PublicCors).WithSummary("RFC 8414 metadata");
        app.MapGet("/.well-known/openid_configuration", MetadataAsync).RequireCors(AuthlyWebApp.PublicCors).ExcludeFromDescription();
        app.MapGet("/.well-known/jwks.json", JwksAsync).RequireCors(AuthlyWebApp.PublicCors).WithSummary("JSON Web Key Set (RFC 7517)");
    }

    private static async Task<IResult> MetadataAsync(HttpResponse response, Issuer issuer, GrantEngine grants, ScopeStore scopes,
        AuthlyOptions options, CancellationToken ct)
    {
        var grantTypes = grants.SupportedGrantTypes.Where(g => g != GrantTypes.Password || options.PasswordGrantEnabled).ToList();
        var active = await scopes.ActiveAsync(ct);
        response.Headers.CacheControl = "public, max-age=300";
        return Results.Json(DiscoveryDocument.Build(issuer.Value,
            new DiscoveryDocument.Features(grantTypes, active.Keys.ToList(), options.SigningAlgorithm,
                HasAuthorizeEndpoint: true, HasUserInfo: true, HasDeviceAuthorization: true, HasEndSession: true)));
    }

    private static async Task<IResult> JwksAsync(HttpResponse response, SigningKeyStore keys, CancellationToken ct)
    {
        // Short: a rotation must reach verifiers quickly; the previous key stays listed meanwhile.
        response.Headers.CacheControl = "public, max-age=60";
        return Results.Json(new { keys = await keys.JwksAsync(ct) });
    }
}
