using Authly.OAuth;
using Authly.Server.Http;
using Authly.Tokens;

namespace Authly.Server.Endpoints;

public static class IntrospectionEndpoint
{
    public static void MapIntrospectionEndpoint(this RouteGroupBuilder oauth) =>
        oauth.MapPost("/introspect", HandleAsync)
            .WithSummary("Token introspection (RFC 7662)").DocumentsFormBody();

    private static async Task<IResult> HandleAsync(HttpRequest request, IntrospectionAccess access, TokenIntrospection introspection,
        ClientAddress address, CancellationToken ct)
    {
        var form = await FormParameters.ReadAsync(request, ct);
        await access.CheckAsync(form, BasicCredentials.Parse(request), BasicCredentials.Bearer(request), address.Of(request.HttpContext)?.ToString(), ct);
        // RFC 7662 §2.1: token is REQUIRED.
        if (!form.TryGetValue(Parameters.Token, out var token) || token.Length == 0)
            throw OAuthException.InvalidRequest("The token parameter is required");
        form.TryGetValue(Parameters.TokenTypeHint, out var hint);
        return Results.Json(await introspection.IntrospectAsync(token, hint, ct));
    }
}
