using Authly.Oidc;
using Authly.Server.Http;
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

    private static async Task<IResult> MetadataAsync(HttpContext context, PublishedMetadata metadata, CancellationToken ct) =>
        PublishedDocumentResult.For(context, await metadata.GetAsync(ct));

    private static async Task<IResult> JwksAsync(HttpContext context, SigningKeyStore keys, CancellationToken ct) =>
        PublishedDocumentResult.For(context, (await keys.RingAsync(ct)).Jwks);
}
