using Authly.Authorization;
using Authly.Clients;
using Authly.Counters;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Server.Http;
using Authly.Server.Pages;

namespace Authly.Server.Endpoints;

/// <summary>RFC 8628: the device authorization endpoint, and the /device page where a signed-in user enters the code.</summary>
public static class DeviceEndpoints
{
    public static void MapDeviceAuthorizationEndpoint(this RouteGroupBuilder oauth) =>
        oauth.MapPost("/device_authorization", StartAsync).RateLimited("device")
            .WithSummary("Device authorization (RFC 8628 §3.1)").DocumentsFormBody();

    public static void MapDevicePages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/device", ShowAsync).ExcludeFromDescription();
        app.MapPost("/device", EnterAsync).DisableAntiforgery().ExcludeFromDescription();
        app.MapPost("/device/confirm", ConfirmAsync).DisableAntiforgery().ExcludeFromDescription();
    }

    private static async Task<IResult> StartAsync(HttpRequest request, ClientAuthenticator authenticator, DeviceAuthorization devices, CancellationToken ct)
    {
        var form = await FormParameters.ReadAsync(request, ct);
        var client = await authenticator.AuthenticateAsync(form, BasicCredentials.Parse(request), ct)
                     ?? throw OAuthException.InvalidClient("client_id is required");
        return Results.Json(await devices.StartAsync(client, form.GetValueOrDefault(Parameters.Scope), ct));
    }

    private static async Task<IResult> ShowAsync(HttpContext http, BrowserSession browser, DeviceAuthorization devices, ClientStore clients,
        ScopeStore scopes, Csrf csrf, string? user_code, CancellationToken ct)
    {
        var current = await browser.GetAsync(http, ct);
        var returnTo = user_code is null ? "/device" : "/device?user_code=" + Uri.EscapeDataString(user_code);
        if (current is null) return AuthPages.Login(csrf.TokenFor(http), returnTo, null, null, null);
        if (user_code is null) return AuthPages.DeviceEnter(csrf.TokenFor(http), null);
        return await ConfirmPageAsync(http, current, user_code, devices, clients, scopes, csrf, ct);
    }

    private static async Task<IResult> EnterAsync(HttpContext http, BrowserSession browser, DeviceAuthorization devices, ClientStore clients,
        ScopeStore scopes, Csrf csrf, RateLimiter limiter, ClientAddress address, CancellationToken ct)
    {
        var form = await ReadFormOrNullAsync(http, ct);
        if (form is null || !csrf.IsValid(http, form.GetValueOrDefault(Csrf.FieldName)))
            return AuthPages.DeviceEnter(csrf.TokenFor(http), "The form expired. Please enter the code again.", status: 403);
        var current = await browser.GetAsync(http, ct);
        if (current is null) return AuthPages.Login(csrf.TokenFor(http), "/device", null, null, null);
        try { await limiter.CheckAsync("device-code-entry", address.Of(http)?.ToString(), ct); }
        catch (OAuthException) { return AuthPages.DeviceEnter(csrf.TokenFor(http), "Too many attempts. Try again later.", status: 429); }
        return await ConfirmPageAsync(http, current, form.GetValueOrDefault("user_code") ?? "", devices, clients, scopes, csrf, ct);
    }

    private static async Task<IResult> ConfirmPageAsync(HttpContext http, BrowserSession.Current current, string userCode, DeviceAuthorization devices,
        ClientStore clients, ScopeStore scopes, Csrf csrf, CancellationToken ct)
    {
        var pending = await devices.FindPendingAsync(userCode, ct);
        var client = pending is null ? null : await clients.FindActiveAsync(pending.Value.Row.ClientId, ct);
        if (pending is null || client is null)
            return AuthPages.DeviceEnter(csrf.TokenFor(http), "That code is not valid or has expired. Check the code on your device.", userCode, 400);
        return AuthPages.DeviceConfirm(csrf.TokenFor(http), DeviceAuthorization.Format(pending.Value.Normalized), client.ClientName,
            current.User.Username, ScopeSet.Parse(pending.Value.Row.Scope), await scopes.ActiveAsync(ct));
    }

    private static async Task<IResult> ConfirmAsync(HttpContext http, BrowserSession browser, DeviceAuthorization devices, Csrf csrf, CancellationToken ct)
    {
        var form = await ReadFormOrNullAsync(http, ct);
        if (form is null || !csrf.IsValid(http, form.GetValueOrDefault(Csrf.FieldName)))
            return Html.Error("Request expired", "The form was not valid any more. Please enter the code again.", 403);
        var current = await browser.GetAsync(http, ct);
        if (current is null) return AuthPages.Login(csrf.TokenFor(http), "/device", null, null, null);
        var approve = form.GetValueOrDefault("approved") == "true";
        if (!await devices.DecideAsync(form.GetValueOrDefault("user_code") ?? "", approve, current.User.Id, current.AuthTime, current.Sid, ct))
            return Html.Error("Code expired", "That code is no longer waiting for approval. Start again on your device.");
        return approve
            ? Html.Page("Device connected", "<h1>Device connected</h1><p>You can return to your device.</p>")
            : Html.Page("Request denied", "<h1>Request denied</h1><p>The device was not given access.</p>");
    }

    private static async Task<Dictionary<string, string>?> ReadFormOrNullAsync(HttpContext http, CancellationToken ct)
    {
        try { return await FormParameters.ReadAsync(http.Request, ct); }
        catch (OAuthException) { return null; }
    }
}
