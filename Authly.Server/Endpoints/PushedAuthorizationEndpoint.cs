using Authly.Authorization;
using Authly.Server.Http;

namespace Authly.Server.Endpoints;

/// <summary>POST /api/v1/oauth/par: the pushed authorization request endpoint (RFC 9126 §2).</summary>
public static class PushedAuthorizationEndpoint
{
    public static void MapPushedAuthorizationEndpoint(this RouteGroupBuilder oauth) =>
        oauth.MapPost("/par", HandleAsync).RateLimited("token")
            .WithSummary("Pushed authorization request (RFC 9126); answers 201 with request_uri and expires_in").DocumentsFormBody();

    private static async Task<IResult> HandleAsync(HttpRequest request, PushedAuthorization par, CancellationToken ct)
    {
        var form = await FormParameters.ReadAsync(request, ct);
        // RFC 9126 §2.2: 201 Created, with no Location (the request_uri is in the body).
        return Results.Json(await par.PushAsync(form, BasicCredentials.Parse(request), ct), statusCode: StatusCodes.Status201Created);
    }
}
