using System.Text.Json.Serialization;
using Authly.Clients;
using Authly.Server.Http;

namespace Authly.Server.Endpoints;

/// <summary>
/// Issue 18 on the admin API: RFC 7591 initial access tokens (create, list, revoke) and each client's RFC 8693
/// token exchange policy (show, set, remove).
/// </summary>
public static class AdminRegistrationEndpoints
{
    public static void MapAdminRegistrationEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapPost("/registration-tokens", CreateTokenAsync).Needs("admin:clients:write")
            .WithSummary("Create an initial access token for dynamic client registration; shown once");
        admin.MapGet("/registration-tokens", ListTokensAsync).Needs("admin:clients:read");
        admin.MapDelete("/registration-tokens/{id}", RevokeTokenAsync).Needs("admin:clients:write");

        admin.MapGet("/clients/{clientId}/token-exchange", GetPolicyAsync).Needs("admin:clients:read");
        admin.MapPut("/clients/{clientId}/token-exchange", SetPolicyAsync).Needs("admin:clients:write")
            .WithSummary("Set the audiences and scopes a client may ask for in a token exchange, and whether it must name an actor");
        admin.MapDelete("/clients/{clientId}/token-exchange", DeletePolicyAsync).Needs("admin:clients:write");
    }

    private sealed record TokenInput
    {
        [JsonPropertyName("description")] public string? Description { get; init; }
        [JsonPropertyName("expires_in")] public int? ExpiresIn { get; init; }
        [JsonPropertyName("max_uses")] public int? MaxUses { get; init; }
    }

    private static async Task<IResult> CreateTokenAsync(HttpRequest request, InitialAccessTokenStore tokens, CancellationToken ct)
    {
        var input = await JsonBody.ReadAsync<TokenInput>(request, ct);
        var (info, token) = await tokens.CreateAsync(input.Description, input.ExpiresIn, input.MaxUses, ct);
        return Results.Json(new
        {
            id = info.Id, initial_access_token = token, description = info.Description, expires_at = info.ExpiresAt, uses_left = info.UsesLeft,
            message = "Store the token now: it cannot be shown again.",
        });
    }

    private static async Task<IResult> ListTokensAsync(InitialAccessTokenStore tokens, int? limit, int? offset, CancellationToken ct)
    {
        var (l, o) = AdminEndpoints.Paging(limit, offset);
        return Results.Json(await tokens.ListAsync(l, o, ct));
    }

    private static async Task<IResult> RevokeTokenAsync(string id, InitialAccessTokenStore tokens, CancellationToken ct) =>
        Guid.TryParse(id, out var guid) && await tokens.RevokeAsync(guid, ct)
            ? Results.Json(new { message = "Initial access token revoked", id = guid })
            : throw AuthlyException.NotFound("Initial access token");

    private static async Task<IResult> GetPolicyAsync(string clientId, TokenExchangePolicyStore policies, CancellationToken ct) =>
        Results.Json(await policies.GetAsync(clientId, ct) ?? throw AuthlyException.NotFound("Token exchange policy"));

    private static async Task<IResult> SetPolicyAsync(string clientId, HttpRequest request, TokenExchangePolicyStore policies, CancellationToken ct)
    {
        var input = await JsonBody.ReadAsync<TokenExchangePolicyStore.PolicyInput>(request, ct);
        return Results.Json(await policies.SetAsync(clientId, input, ct) ?? throw AuthlyException.NotFound("Client"));
    }

    private static async Task<IResult> DeletePolicyAsync(string clientId, TokenExchangePolicyStore policies, CancellationToken ct) =>
        await policies.DeleteAsync(clientId, ct)
            ? Results.Json(new { message = "Token exchange policy removed", client_id = clientId })
            : throw AuthlyException.NotFound("Token exchange policy");
}
