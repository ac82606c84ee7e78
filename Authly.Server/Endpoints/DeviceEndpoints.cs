using Authly.Authorization;
using Authly.Clients;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Server.Http;
using Authly.Server.Pages;

namespace Authly.Server.Endpoints;

/// <summary>
/// RFC 8628: the device authorization endpoint, and the /device pages where a signed-in user enters the code; the
/// pages render what <see cref="DeviceApproval"/> decides, and errors go through <see cref="PageErrors"/>.
/// </summary>
public static class DeviceEndpoints
{
    public static void MapDeviceAuthorizationEndpoint(this RouteGroupBuilder oauth) =>
        oauth.MapPost("/device_authorization", StartAsync).RateLimited("device")
            .WithSummary("Device authorization (RFC 8628 §3.1)").DocumentsFormBody();

    public static void MapDevicePages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/device", ShowAsync).WithPageErrors().ExcludeFromDescription();
        app.MapPost("/device", EnterAsync).WithPageErrors().DisableAntiforgery().ExcludeFromDescription();
        app.MapPost("/device/confirm", ConfirmAsync).WithPageErrors().DisableAntiforgery().ExcludeFromDescription();
    }

    private static async Task<IResult> StartAsync(HttpRequest request, ClientAuthenticator authenticator, DeviceAuthorization devices, CancellationToken ct)
    {
        var form = await FormParameters.ReadAsync(request, ct);
        var client = await authenticator.AuthenticateAsync(form, BasicCredentials.Parse(request), ct)
                     ?? throw OAuthException.InvalidClient("client_id is required");
        return Results.Json(await devices.StartAsync(client, form.GetValueOrDefault(Parameters.Scope), ct));
    }

    private static async Task<IResult> ShowAsync(HttpContext http, BrowserSession browser, DeviceApproval approval, Csrf csrf, ClientAddress address,
        string? user_code, CancellationToken ct)
    {
        var who = await SignedInAsync(http, browser, csrf, address, ct);
        return Render(http, csrf, await approval.ShowAsync(who, user_code, ct));
    }

    private static async Task<IResult> EnterAsync(HttpContext http, BrowserSession browser, DeviceApproval approval, Csrf csrf, ClientAddress address,
        CancellationToken ct)
    {
        var form = await ReadFormOrNullAsync(http, ct);
        var step = await approval.EnterAsync(c => SignedInAsync(http, browser, csrf, address, c), IsGenuine(http, csrf, form),
            form?.GetValueOrDefault("user_code"), ct);
        return step is DeviceApproval.FormExpired
            ? AuthPages.DeviceEnter(csrf.TokenFor(http), "The form expired. Please enter the code again.", status: 403)
            : Render(http, csrf, step);
    }

    private static async Task<IResult> ConfirmAsync(HttpContext http, BrowserSession browser, DeviceApproval approval, Csrf csrf, ClientAddress address,
        CancellationToken ct)
    {
        var form = await ReadFormOrNullAsync(http, ct);
        var step = await approval.DecideAsync(c => SignedInAsync(http, browser, csrf, address, c), IsGenuine(http, csrf, form),
            form?.GetValueOrDefault(AuthPages.DeviceHandleField), form?.GetValueOrDefault("approved") == "true", ct);
        return step is DeviceApproval.FormExpired
            ? Html.Error("Request expired", "The form was not valid any more. Please enter the code again.", 403)
            : Render(http, csrf, step);
    }

    private static IResult Render(HttpContext http, Csrf csrf, DeviceApproval.Step step) => step switch
    {
        DeviceApproval.SignIn s => PasskeyEndpoints.LoginPage(http, AuthPages.Login(csrf.TokenFor(http),
            s.UserCode is null ? "/device" : "/device?user_code=" + Uri.EscapeDataString(s.UserCode), null, null, null)),
        DeviceApproval.EnterCode => AuthPages.DeviceEnter(csrf.TokenFor(http), null),
        DeviceApproval.UnknownCode u => AuthPages.DeviceEnter(csrf.TokenFor(http), "That code is not valid or has expired. Check the code on your device.", u.UserCode, 400),
        DeviceApproval.Confirm c => AuthPages.DeviceConfirm(csrf.TokenFor(http), c.UserCode, c.Handle, c.ClientName, c.Username, c.Scopes, c.Known),
        DeviceApproval.NotWaiting => Html.Error("Code expired", "That code is no longer waiting for approval. Start again on your device."),
        DeviceApproval.Decided { Approved: true } => Html.Page("Device connected", "<h1>Device connected</h1><p>You can return to your device.</p>"),
        DeviceApproval.Decided => Html.Page("Request denied", "<h1>Request denied</h1><p>The device was not given access.</p>"),
        _ => throw new InvalidOperationException($"Unknown device approval step {step.GetType().Name}"),
    };

    /// <summary>
    /// The signed-in browser; from here on, RFC 8628 §5.1's "over the shared user code budget" (429 with
    /// Retry-After) is shown on the code entry form, the page the user is on.
    /// </summary>
    private static async Task<DeviceApproval.SignedIn?> SignedInAsync(HttpContext http, BrowserSession browser, Csrf csrf, ClientAddress address, CancellationToken ct)
    {
        var current = await browser.GetAsync(http, ct);
        if (current is null) return null;
        PageErrors.OnRefusal(http, r => r.Throttled
            ? AuthPages.DeviceEnter(csrf.TokenFor(http), "Too many attempts. Try again later.", status: r.Status)
            : null);
        return new(current.User, current.AuthTime, current.Sid, address.Of(http)?.ToString(), current.Amr);
    }

    private static bool IsGenuine(HttpContext http, Csrf csrf, Dictionary<string, string>? form) =>
        form is not null && csrf.IsValid(http, form.GetValueOrDefault(Csrf.FieldName));

    /// <summary>An unreadable form is treated like one without a valid CSRF token: the page asks again.</summary>
    private static async Task<Dictionary<string, string>?> ReadFormOrNullAsync(HttpContext http, CancellationToken ct) =>
        await FormParameters.TryReadAsync(http.Request, ct);
}
