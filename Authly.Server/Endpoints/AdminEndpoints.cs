using Authly.Clients;
using Authly.Configuration;
using Authly.Scopes;
using Authly.Server.Http;
using Authly.Tokens;

namespace Authly.Server.Endpoints;

/// <summary>/admin: health (open), clients, scopes, signing keys, users and status (admin token with the matching admin:* scope).</summary>
public static class AdminEndpoints
{
    public static RouteGroupBuilder MapAdminEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/health", () => Results.Json(new { status = "healthy", service = "authly-admin-api" }))
            .WithTags("admin").WithSummary("Admin API liveness (no authentication)");

        var admin = app.MapGroup("/admin").WithTags("admin")
            .AddEndpointFilter<ApiErrorFilter>()
            .AddEndpointFilter<AdminAuthorizationFilter>();

        admin.MapGet("/clients", ListClientsAsync).Needs("admin:clients:read");
        admin.MapPost("/clients", CreateClientAsync).Needs("admin:clients:write");
        admin.MapGet("/clients/{clientId}", GetClientAsync).Needs("admin:clients:read");
        admin.MapPut("/clients/{clientId}", UpdateClientAsync).Needs("admin:clients:write");
        admin.MapDelete("/clients/{clientId}", DeleteClientAsync).Needs("admin:clients:write");
        admin.MapPost("/clients/{clientId}/regenerate-secret", RegenerateSecretAsync).Needs("admin:clients:write");

        admin.MapGet("/scopes", ListScopesAsync).Needs("admin:scopes:read");
        admin.MapPost("/scopes", CreateScopeAsync).Needs("admin:scopes:write");
        admin.MapGet("/scopes/defaults", DefaultScopesAsync).Needs("admin:scopes:read");
        admin.MapGet("/scopes/{scopeName}", GetScopeAsync).Needs("admin:scopes:read");
        admin.MapPut("/scopes/{scopeName}", UpdateScopeAsync).Needs("admin:scopes:write");
        admin.MapDelete("/scopes/{scopeName}", DeleteScopeAsync).Needs("admin:scopes:write");

        admin.MapGet("/keys", ListKeysAsync).Needs("admin:system:read");
        admin.MapGet("/keys/schedule", KeyScheduleAsync).Needs("admin:system:read");
        admin.MapPost("/keys/rotate", RotateKeyAsync).Needs("admin:system:write");

        admin.MapAdminUsersEndpoints();
        admin.MapAdminRegistrationEndpoints();
        admin.MapAdminMfaEndpoints();
        admin.MapAdminSystemEndpoints();
        return admin;
    }

    public static RouteHandlerBuilder Needs(this RouteHandlerBuilder route, string scope) => route.WithMetadata(new AdminScope(scope));

    /// <summary>Paging parameters, checked: limit 1–1000, offset ≥ 0.</summary>
    public static (int Limit, int Offset) Paging(int? limit, int? offset, string limitName = "limit", string offsetName = "offset")
    {
        if (limit is < 1 or > 1000) throw AuthlyException.BadRequest($"{limitName} must be between 1 and 1000", limitName);
        if (offset is < 0) throw AuthlyException.BadRequest($"{offsetName} must not be negative", offsetName);
        return (limit ?? 100, offset ?? 0);
    }

    private static async Task<IResult> ListClientsAsync(ClientStore clients, int? limit, int? offset, bool? include_inactive, CancellationToken ct)
    {
        var (l, o) = Paging(limit, offset);
        return Results.Json((await clients.ListAsync(l, o, include_inactive ?? false, ct)).Select(ClientView.Of));
    }

    private static async Task<IResult> CreateClientAsync(HttpRequest request, ClientStore clients, CancellationToken ct)
    {
        var registration = await JsonBody.ReadAsync<ClientRegistration>(request, ct);
        var created = await clients.CreateAsync(registration, ct);
        return Results.Json(new Dictionary<string, object?>
        {
            ["client_id"] = created.Client.ClientId,
            ["client_secret"] = created.ClientSecret,
            ["client_type"] = created.Client.ClientType,
            ["client_name"] = created.Client.ClientName,
        });
    }

    private static async Task<IResult> GetClientAsync(string clientId, ClientStore clients, CancellationToken ct) =>
        Results.Json(ClientView.Of(await clients.GetAsync(clientId, ct) ?? throw AuthlyException.NotFound("Client")));

    private static async Task<IResult> UpdateClientAsync(string clientId, HttpRequest request, ClientStore clients, CancellationToken ct)
    {
        var registration = await JsonBody.ReadAsync<ClientRegistration>(request, ct);
        return Results.Json(ClientView.Of(await clients.UpdateAsync(clientId, registration, ct) ?? throw AuthlyException.NotFound("Client")));
    }

    private static async Task<IResult> DeleteClientAsync(string clientId, ClientStore clients, CancellationToken ct) =>
        await clients.DeactivateAsync(clientId, ct)
            ? Results.Json(new { message = "Client deactivated", client_id = clientId })
            : throw AuthlyException.NotFound("Client");

    private static async Task<IResult> RegenerateSecretAsync(string clientId, ClientStore clients, CancellationToken ct)
    {
        var client = await clients.GetAsync(clientId, ct) ?? throw AuthlyException.NotFound("Client");
        if (client.IsPublic) throw AuthlyException.BadRequest("Public clients have no secret");
        var secret = await clients.RegenerateSecretAsync(clientId, ct) ?? throw AuthlyException.NotFound("Client");
        return Results.Json(new { client_id = clientId, client_secret = secret, new_secret = secret,
            message = "Client secret regenerated. Store it now: it cannot be shown again." });
    }

    private static async Task<IResult> ListScopesAsync(ScopeStore scopes, int? limit, int? offset, bool? include_inactive, bool? default_only, CancellationToken ct)
    {
        var (l, o) = Paging(limit, offset);
        return Results.Json(await scopes.ListAsync(l, o, include_inactive ?? false, default_only ?? false, ct));
    }

    private static async Task<IResult> DefaultScopesAsync(ScopeStore scopes, CancellationToken ct) =>
        Results.Json(await scopes.ListAsync(1000, 0, includeInactive: false, defaultOnly: true, ct));

    private static async Task<IResult> CreateScopeAsync(HttpRequest request, ScopeStore scopes, CancellationToken ct)
    {
        var input = await JsonBody.ReadAsync<ScopeInput>(request, ct);
        var name = ScopeRules.CheckName(input.ScopeName);
        ScopeRules.CheckDescription(input.Description);
        return Results.Json(await scopes.CreateAsync(name, input.Description, input.IsDefault ?? false, input.IsActive ?? true, ct)
                            ?? throw ScopeRules.AlreadyExists(name));
    }

    private static async Task<IResult> GetScopeAsync(string scopeName, ScopeStore scopes, CancellationToken ct) =>
        Results.Json(await scopes.GetAsync(scopeName, ct) ?? throw AuthlyException.NotFound("Scope"));

    private static async Task<IResult> UpdateScopeAsync(string scopeName, HttpRequest request, ScopeStore scopes, CancellationToken ct)
    {
        var input = await JsonBody.ReadAsync<ScopeInput>(request, ct);
        ScopeRules.CheckNameUnchanged(scopeName, input.ScopeName);
        ScopeRules.CheckDescription(input.Description);
        return Results.Json(await scopes.UpdateAsync(scopeName, input.Description, input.IsDefault, input.IsActive, ct) ?? throw AuthlyException.NotFound("Scope"));
    }

    private static async Task<IResult> DeleteScopeAsync(string scopeName, ScopeStore scopes, CancellationToken ct) =>
        await scopes.DeleteAsync(scopeName, ct)
            ? Results.Json(new { message = "Scope deleted", scope_name = scopeName })
            : throw AuthlyException.NotFound("Scope");

    private static async Task<IResult> ListKeysAsync(SigningKeyStore keys, TimeProvider clock, CancellationToken ct) =>
        Results.Json((await keys.RingAsync(ct)).All.Select(k => KeyView.Of(k, clock.GetUtcNow())));

    private static async Task<IResult> KeyScheduleAsync(SigningKeyStore keys, CancellationToken ct) =>
        Results.Json(KeyScheduleView.Of(await keys.ScheduleAsync(ct)));

    private static async Task<IResult> RotateKeyAsync(SigningKeyStore keys, AuthlyOptions options, CancellationToken ct)
    {
        SigningKeyRules.CheckRotationAllowed(options.SigningAlgorithm);
        var key = await keys.RotateAsync(ct);
        return Results.Json(new
        {
            kid = key.Kid, alg = key.Algorithm, activates_at = key.ActivatesAt,
            message = "Signing key rotated: the new key signs immediately (manual rotation does not wait for the announce period). " +
                      "The previous key stays in the JWKS until the tokens it signed have expired.",
        });
    }
}
