using Authly.Clients;
using Authly.Configuration;
using Authly.Server.Http;

namespace Authly.Server.Endpoints;

/// <summary>
/// RFC 7591 dynamic client registration (POST /api/v1/oauth/register, not served when AUTHLY_REGISTRATION=closed) and
/// RFC 7592 management of a registration (GET/PUT/DELETE …/register/{client_id} with its registration access token).
/// On the OAuth group: errors are RFC 7591 §3.2.2 / RFC 6750 bodies with no-store; every route is rate limited per address.
/// </summary>
public static class ClientRegistrationEndpoint
{
    public static void MapClientRegistrationEndpoint(this RouteGroupBuilder oauth, AuthlyOptions options)
    {
        if (options.ClientRegistration != ClientRegistrationMode.Closed)
            oauth.MapPost("/register", RegisterAsync).RateLimited("client-registration")
                .WithSummary("Dynamic client registration (RFC 7591 §3)");
        oauth.MapGet("/register/{clientId}", ReadAsync).RateLimited("client-registration")
            .WithSummary("Read a client's own registration (RFC 7592 §2.1)");
        oauth.MapPut("/register/{clientId}", UpdateAsync).RateLimited("client-registration")
            .WithSummary("Replace a client's own registration; answers with a new registration access token (RFC 7592 §2.2)");
        oauth.MapDelete("/register/{clientId}", DeleteAsync).RateLimited("client-registration")
            .WithSummary("Delete (deactivate) a client's own registration (RFC 7592 §2.3)");
    }

    private static async Task<IResult> RegisterAsync(HttpRequest request, DynamicRegistration registration, CancellationToken ct)
    {
        var metadata = await JsonBody.ReadAsync<ClientMetadata>(request, ct);
        var created = await registration.RegisterAsync(metadata, BasicCredentials.Bearer(request), ct);
        return Results.Json(created, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ReadAsync(string clientId, HttpRequest request, DynamicRegistration registration, CancellationToken ct) =>
        Results.Json(await registration.ReadAsync(clientId, BasicCredentials.Bearer(request), ct));

    private static async Task<IResult> UpdateAsync(string clientId, HttpRequest request, DynamicRegistration registration, CancellationToken ct)
    {
        var metadata = await JsonBody.ReadAsync<ClientMetadata>(request, ct);
        return Results.Json(await registration.UpdateAsync(clientId, BasicCredentials.Bearer(request), metadata, ct));
    }

    private static async Task<IResult> DeleteAsync(string clientId, HttpRequest request, DynamicRegistration registration, CancellationToken ct)
    {
        await registration.DeleteAsync(clientId, BasicCredentials.Bearer(request), ct);
        return Results.NoContent();
    }
}
