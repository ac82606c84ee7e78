using Authly.Admin;
using Authly.OAuth;
using Authly.Server.Http;
using Authly.Server.Pages;
using Authly.Vault;

namespace Authly.Server.Endpoints;

/// <summary>
/// The token vault over HTTP. /api/v1/vault: a bearer token of a user or a service client
/// (vault:read / vault:write); the connect flow is for the browser's session cookie only (never a
/// bearer token) and answers in HTML. /admin/vault: providers, the access record and key status (admin:system:*).
/// Every rule lives in Authly.Core/Vault; handlers read input, call one method and write JSON.
/// </summary>
public static class VaultEndpoints
{
    public static void MapVaultEndpoints(this WebApplication app)
    {
        // Calls that can reach an upstream provider share the per-IP rate limit bucket "vault", so a
        // caller cannot turn this server into a refresh/introspection hammer against a provider.
        var api = app.MapGroup("/api/v1/vault").WithTags("vault").AddEndpointFilter<ApiErrorFilter>().AddEndpointFilterFactory(CallerFilter);
        api.MapGet("/providers", ProvidersAsync).WithSummary("Providers a user can connect");
        api.MapPost("/tokens", StoreAsync).RateLimited("vault").WithSummary("Store a refresh or offline token for (user, provider, purpose)");
        api.MapGet("/tokens", ListAsync).WithSummary("Entries of the calling user, or granted to the calling client (never tokens)");
        api.MapGet("/tokens/{id}", GetAsync);
        api.MapDelete("/tokens/{id}", RevokeAsync).RateLimited("vault").WithSummary("Revoke the entry here and at the provider (RFC 7009)");
        api.MapPost("/tokens/{id}/access-token", MintAsync).RateLimited("vault").WithSummary("A fresh access token from the stored refresh token");
        api.MapPost("/tokens/{id}/authly-token", AuthlyTokenAsync).RateLimited("vault")
            .WithSummary("A down-scoped access token of this Authly for the entry's user, for a service client the entry is granted to (RFC 8693 rules, act = the service)");
        api.MapPost("/tokens/{id}/grants", GrantAsync).WithSummary("Let a service client use the entry (owner only)");
        api.MapDelete("/tokens/{id}/grants/{clientId}", UngrantAsync);
        api.MapGet("/tokens/{id}/audit", AuditAsync).WithSummary("The entry's access record (owner only)");
        api.MapDelete("/tokens/{id}/sessions/{sid}", EndProviderSessionAsync).WithSummary("End a session at the entry's provider, where supported");
        api.MapPost("/validate", ValidateAsync).RateLimited("vault").WithSummary("Is this access token valid at the provider? (introspection, or JWKS for JWTs)");
        api.MapGet("/sessions", SessionsAsync).WithSummary("The caller's Authly sessions and, where providers expose them, provider sessions");
        api.MapDelete("/sessions/{sid}", EndSessionAsync).WithSummary("End one of the caller's Authly sessions");

        app.MapGet("/api/v1/vault/connect/{provider}", ConnectAsync).WithPageErrors().RateLimited("vault").WithTags("vault")
            .WithSummary("Start the authorization code + PKCE flow (offline_access) with a provider, for the signed-in user");
        app.MapGet(VaultConnect.CallbackPath, CallbackAsync).WithPageErrors().WithTags("vault").ExcludeFromDescription();

        var admin = app.MapGroup("/admin/vault").WithTags("admin").AddEndpointFilter<ApiErrorFilter>().AddEndpointFilter<AdminAuthorizationFilter>();
        admin.MapGet("/providers", AdminListAsync).Needs("admin:system:read");
        admin.MapPost("/providers", AdminCreateAsync).Needs("admin:system:write");
        admin.MapGet("/providers/{name}", AdminGetAsync).Needs("admin:system:read");
        admin.MapPut("/providers/{name}", AdminUpdateAsync).Needs("admin:system:write");
        admin.MapDelete("/providers/{name}", AdminDeactivateAsync).Needs("admin:system:write");
        admin.MapGet("/audit", AdminAuditAsync).Needs("admin:system:read");
        admin.MapGet("/keys", AdminKeysAsync).Needs("admin:system:read");
    }

    /// <summary>Authenticates the bearer as a <see cref="VaultCaller"/>; vault responses are never cached (some carry tokens).</summary>
    private static EndpointFilterDelegate CallerFilter(EndpointFilterFactoryContext factory, EndpointFilterDelegate next)
    {
        var callers = factory.ApplicationServices.GetRequiredService<VaultCallers>();
        var address = factory.ApplicationServices.GetRequiredService<ClientAddress>();
        return async ctx =>
        {
            var http = ctx.HttpContext;
            OAuthErrorFilter.NoStore(http.Response);
            var token = BasicCredentials.Bearer(http.Request);
            var caller = await callers.FromBearerAsync(token, address.Of(http)?.ToString(), http.RequestAborted);
            if (caller is null)
            {
                http.Response.Headers.WWWAuthenticate = BearerChallenge.Header(token is null ? null : OAuthErrors.InvalidToken);
                throw new AuthlyException(401, token is null ? "Not authenticated" : "Invalid or expired token");
            }
            http.Items[typeof(VaultCaller)] = caller;
            return await next(ctx);
        };
    }

    private static VaultCaller Caller(HttpContext http) => (VaultCaller)http.Items[typeof(VaultCaller)]!;

    private static async Task<IResult> ProvidersAsync(VaultProviders providers, CancellationToken ct) =>
        Results.Json((await providers.ListAsync(includeInactive: false, ct)).Select(VaultViews.PublicProvider));

    private static async Task<IResult> StoreAsync(HttpContext http, TokenVault vault, CancellationToken ct)
    {
        var input = await JsonBody.ReadAsync<TokenVault.StoreRequest>(http.Request, ct);
        var entry = await vault.StoreAsync(Caller(http), input, ct);
        return Results.Json(VaultViews.Entry(entry, Caller(http)), statusCode: 201);
    }

    private static async Task<IResult> ListAsync(HttpContext http, TokenVault vault, string? provider, string? purpose, bool? include_revoked,
        int? limit, int? offset, CancellationToken ct)
    {
        var (l, o) = AdminEndpoints.Paging(limit, offset);
        var caller = Caller(http);
        return Results.Json((await vault.ListAsync(caller, provider, purpose, include_revoked ?? false, l, o, ct)).Select(e => VaultViews.Entry(e, caller)));
    }

    private static async Task<IResult> GetAsync(string id, HttpContext http, TokenVault vault, CancellationToken ct) =>
        Results.Json(VaultViews.Entry(await vault.GetAsync(Caller(http), RouteIds.Parse(id), ct), Caller(http)));

    private static async Task<IResult> RevokeAsync(string id, HttpContext http, TokenVault vault, CancellationToken ct)
    {
        var result = await vault.RevokeAsync(Caller(http), RouteIds.Parse(id), ct);
        return Results.Json(new { entry = VaultViews.Entry(result.Entry, Caller(http)), upstream_revocation = result.UpstreamRevocation });
    }

    private static async Task<IResult> MintAsync(string id, HttpContext http, AccessTokenMinter minter, CancellationToken ct)
    {
        var guid = RouteIds.Parse(id);
        // An empty body asks for the entry's full scope.
        var input = http.Request.ContentLength is 0 || (http.Request.ContentLength is null && http.Request.ContentType is null)
            ? new AccessTokenMinter.Request()
            : await JsonBody.ReadAsync<AccessTokenMinter.Request>(http.Request, ct);
        return Results.Json(await minter.MintAsync(Caller(http), guid, input, ct));
    }

    private static async Task<IResult> AuthlyTokenAsync(string id, HttpContext http, AuthlyTokenDelegation delegation, CancellationToken ct)
    {
        var guid = RouteIds.Parse(id);
        // An empty body asks for the entry's full scope (∩ the policy).
        var input = http.Request.ContentLength is 0 || (http.Request.ContentLength is null && http.Request.ContentType is null)
            ? new AuthlyTokenDelegation.Request()
            : await JsonBody.ReadAsync<AuthlyTokenDelegation.Request>(http.Request, ct);
        return Results.Json(await delegation.IssueAsync(Caller(http), guid, input, ct));
    }

    internal sealed record GrantInput([property: System.Text.Json.Serialization.JsonPropertyName("client_id")] string? ClientId);

    private static async Task<IResult> GrantAsync(string id, HttpContext http, TokenVault vault, CancellationToken ct)
    {
        var guid = RouteIds.Parse(id);
        var input = await JsonBody.ReadAsync<GrantInput>(http.Request, ct);
        return Results.Json(VaultViews.Entry(await vault.GrantAsync(Caller(http), guid, input.ClientId, ct), Caller(http)));
    }

    private static async Task<IResult> UngrantAsync(string id, string clientId, HttpContext http, TokenVault vault, CancellationToken ct) =>
        Results.Json(VaultViews.Entry(await vault.UngrantAsync(Caller(http), RouteIds.Parse(id), clientId, ct), Caller(http)));

    private static async Task<IResult> AuditAsync(string id, HttpContext http, TokenVault vault, int? limit, int? offset, CancellationToken ct)
    {
        var guid = RouteIds.Parse(id);
        var (l, o) = AdminEndpoints.Paging(limit, offset);
        return Results.Json(await vault.AuditAsync(Caller(http), guid, l, o, ct));
    }

    private static async Task<IResult> ValidateAsync(HttpContext http, VaultTokenValidation validation, CancellationToken ct)
    {
        var input = await JsonBody.ReadAsync<VaultTokenValidation.Request>(http.Request, ct);
        return Results.Json(await validation.ValidateAsync(Caller(http), input, ct));
    }

    private static async Task<IResult> SessionsAsync(HttpContext http, VaultSessions sessions, CancellationToken ct) =>
        Results.Json(await sessions.ListAsync(Caller(http), ct));

    private static async Task<IResult> EndSessionAsync(string sid, HttpContext http, VaultSessions sessions, CancellationToken ct)
    {
        await sessions.EndAuthlySessionAsync(Caller(http), sid, ct);
        return Results.Json(new { message = "Session ended", sid });
    }

    private static async Task<IResult> EndProviderSessionAsync(string id, string sid, HttpContext http, VaultSessions sessions, CancellationToken ct)
    {
        await sessions.EndProviderSessionAsync(Caller(http), RouteIds.Parse(id), sid, ct);
        return Results.Json(new { message = "Session ended", sid });
    }

    // ---- the connect flow: browser pages ----

    private static async Task<IResult> ConnectAsync(string provider, HttpContext http, BrowserSession browser, ClientAddress address,
        VaultConnect connect, string? purpose, string? scope, string? return_to, CancellationToken ct)
    {
        var caller = await BrowserCallerAsync(http, browser, address, ct);
        if (caller is null) return Results.Redirect("/login?return_to=" + Uri.EscapeDataString(http.Request.Path + http.Request.QueryString));
        PageErrors.OnRefusal(http, CannotConnect);
        return Results.Redirect(await connect.StartAsync(caller, provider, purpose, scope, return_to, ct));
    }

    /// <summary>How the connect pages show a refusal from <see cref="VaultConnect"/> (through <see cref="PageErrors"/>).</summary>
    private static IResult CannotConnect(PageErrors.Refusal refusal) => Html.Error("Cannot connect", refusal.Message, refusal.Status);

    private static async Task<IResult> CallbackAsync(HttpContext http, BrowserSession browser, ClientAddress address,
        VaultConnect connect, CancellationToken ct)
    {
        OAuthErrorFilter.NoStore(http.Response);
        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, values) in http.Request.Query)
        {
            // RFC 6749 §3.1: parameters must not repeat.
            if (values.Count > 1) return Html.Error("Cannot connect", $"The {key} parameter is repeated.");
            query[key] = values.ToString();
        }
        var caller = await BrowserCallerAsync(http, browser, address, ct);
        if (caller is null) return Html.Error("Not signed in", "Sign in and start connecting again.", 401);
        PageErrors.OnRefusal(http, CannotConnect);
        var done = await connect.CompleteAsync(caller, query, ct);
        if (done.ReturnTo is { } returnTo)
            return Results.Redirect(RedirectUri.With(returnTo, [new("vault_entry", done.Entry.Id.ToString())]));
        return Html.Page("Connected", $"""
            <h1>Connected</h1>
            <p>Authly now keeps your {Html.E(done.Entry.TokenType)} token for <strong>{Html.E(done.Entry.ProviderName)}</strong>
            (purpose <code>{Html.E(done.Entry.Purpose)}</code>).</p>
            <p>Entry <code id="vault-entry">{done.Entry.Id}</code>. You can close this window.</p>
            """);
    }

    /// <summary>
    /// The user at this browser, by the session cookie only: the connect flow is a browser page, and
    /// a bearer token (of any client, even with vault:write) is no session (issue #11 finding 1).
    /// </summary>
    private static async Task<VaultCaller?> BrowserCallerAsync(HttpContext http, BrowserSession browser, ClientAddress address, CancellationToken ct) =>
        await browser.GetAsync(http, ct) is { } current ? VaultCaller.BrowserUser(current.User.Id, address.Of(http)?.ToString()) : null;

    // ---- admin ----

    private static VaultCaller Admin(HttpContext http, ClientAddress address) =>
        VaultCaller.Administrator(((AdminAccess.Decision)http.Items[typeof(AdminAccess.Decision)]!).User!.Id, address.Of(http)?.ToString());

    private static async Task<IResult> AdminListAsync(VaultProviders providers, bool? include_inactive, CancellationToken ct) =>
        Results.Json((await providers.ListAsync(include_inactive ?? false, ct)).Select(VaultViews.Provider));

    private static async Task<IResult> AdminCreateAsync(HttpContext http, ClientAddress address, VaultProviders providers, CancellationToken ct)
    {
        var input = await JsonBody.ReadAsync<VaultProviderRegistration>(http.Request, ct);
        return Results.Json(VaultViews.Provider(await providers.CreateAsync(Admin(http, address), input, ct)), statusCode: 201);
    }

    private static async Task<IResult> AdminGetAsync(string name, VaultProviders providers, CancellationToken ct) =>
        Results.Json(VaultViews.Provider(await providers.GetAsync(name, ct)));

    private static async Task<IResult> AdminUpdateAsync(string name, HttpContext http, ClientAddress address, VaultProviders providers, CancellationToken ct)
    {
        var input = await JsonBody.ReadAsync<VaultProviderRegistration>(http.Request, ct);
        return Results.Json(VaultViews.Provider(await providers.UpdateAsync(Admin(http, address), name, input, ct)));
    }

    private static async Task<IResult> AdminDeactivateAsync(string name, HttpContext http, ClientAddress address, VaultProviders providers, CancellationToken ct) =>
        Results.Json(VaultViews.Provider(await providers.DeactivateAsync(Admin(http, address), name, ct)));

    private static async Task<IResult> AdminAuditAsync(VaultAudit audit, Guid? entry_id, string? actor, int? limit, int? offset, CancellationToken ct)
    {
        var (l, o) = AdminEndpoints.Paging(limit, offset);
        return Results.Json(await audit.ListAsync(entry_id, actor, l, o, ct));
    }

    private static async Task<IResult> AdminKeysAsync(VaultKeyRing keys, VaultEntryStore entries, CancellationToken ct) =>
        Results.Json(new
        {
            enabled = keys.IsEnabled,
            current_key_id = keys.Current?.Id,
            configured_key_ids = keys.All.Select(k => k.Id).ToArray(),
            entries_by_key_id = await entries.CountByKeyAsync(ct),
            detail = keys.DisabledReason,
        });
}
