using Authly.Authorization;
using Authly.Clients;
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
        ScopeStore scopes, Csrf csrf, ClientAddress address, string? user_code, CancellationToken ct)
    {
        var current = await browser.GetAsync(http, ct);
        var returnTo = user_code is null ? "/device" : "/device?user_code=" + Uri.EscapeDataString(user_code);
        if (current is null) return AuthPages.Login(csrf.TokenFor(http), returnTo, null, null, null);
        if (user_code is null) return AuthPages.DeviceEnter(csrf.TokenFor(http), null);
        return await ConfirmPageAsync(http, current, user_code, devices, clients, scopes, csrf, address, ct);
    }

    private static async Task<IResult> EnterAsync(HttpContext http, BrowserSession browser, DeviceAuthorization devices, ClientStore clients,
        ScopeStore scopes, Csrf csrf, ClientAddress address, CancellationToken ct)
    {
        var form = await ReadFormOrNullAsync(http, ct);
        if (form is null || !csrf.IsValid(http, form.GetValueOrDefault(Csrf.FieldName)))
            return AuthPages.DeviceEnter(csrf.TokenFor(http), "The form expired. Please enter the code again.", status: 403);
        var current = await browser.GetAsync(http, ct);
        if (current is null) return AuthPages.Login(csrf.TokenFor(http), "/device", null, null, null);
        return await ConfirmPageAsync(http, current, form.GetValueOrDefault("user_code") ?? "", devices, clients, scopes, csrf, address, ct);
    }

    private static DeviceAuthorization.Verifier VerifierOf(HttpContext http, BrowserSession.Current current, ClientAddress address) =>
        new(current.User.Id, current.Sid, address.Of(http)?.ToString());

    /// <summary>RFC 8628 §5.1: over the shared user code budget, 429 with Retry-After, on the page the user is on.</summary>
    private static IResult TooManyAttempts(HttpContext http, ThrottledException e, Csrf csrf)
    {
        http.Response.Headers.RetryAfter = e.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return AuthPages.DeviceEnter(csrf.TokenFor(http), "Too many attempts. Try again later.", status: StatusCodes.Status429TooManyRequests);
    }

    private static async Task<IResult> ConfirmPageAsync(HttpContext http, BrowserSession.Current current, string userCode, DeviceAuthorization devices,
        ClientStore clients, ScopeStore scopes, Csrf csrf, ClientAddress address, CancellationToken ct)
    {
        DeviceAuthorization.Shown? shown;
        try { shown = await devices.ShowAsync(userCode, VerifierOf(http, current, address), ct); }
        catch (ThrottledException e) { return TooManyAttempts(http, e, csrf); }
        var client = shown is null ? null : await clients.FindActiveAsync(shown.Row.ClientId, ct);
        if (shown is null || client is null)
            return AuthPages.DeviceEnter(csrf.TokenFor(http), "That code is not valid or has expired. Check the code on your device.", userCode, 400);
        return AuthPages.DeviceConfirm(csrf.TokenFor(http), shown.UserCode, shown.Handle, client.ClientName,
            current.User.Username, ScopeSet.Parse(shown.Row.Scope), await scopes.ActiveAsync(ct));
    }

    private static async Task<IResult> ConfirmAsync(HttpContext http, BrowserSession browser, DeviceAuthorization devices, Csrf csrf,
        ClientAddress address, CancellationToken ct)
    {
        var form = await ReadFormOrNullAsync(http, ct);
        if (form is null || !csrf.IsValid(http, form.GetValueOrDefault(Csrf.FieldName)))
            return Html.Error("Request expired", "The form was not valid any more. Please enter the code again.", 403);
        var current = await browser.GetAsync(http, ct);
        if (current is null) return AuthPages.Login(csrf.TokenFor(http), "/device", null, null, null);
        var approve = form.GetValueOrDefault("approved") == "true";
        try
        {
            // Only the handle the page was given names the request; a raw user_code in the form is ignored.
            if (!await devices.DecideAsync(form.GetValueOrDefault(AuthPages.DeviceHandleField), approve, VerifierOf(http, current, address), current.AuthTime, ct))
                return Html.Error("Code expired", "That code is no longer waiting for approval. Start again on your device.");
        }
        catch (ThrottledException e) { return TooManyAttempts(http, e, csrf); }
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
