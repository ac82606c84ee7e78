using Authly.Authorization;
using Authly.Counters;
using Authly.Mfa;
using Authly.OAuth;
using Authly.Server.Http;
using Authly.Server.Pages;
using Authly.Users;
using Microsoft.AspNetCore.WebUtilities;

namespace Authly.Server.Endpoints;

/// <summary>The login form's target, and the forced password change after an admin-set password. Errors go through <see cref="PageErrors"/>.</summary>
public static class LoginEndpoints
{
    public static void MapLoginEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/login", ShowAsync).WithPageErrors().ExcludeFromDescription();
        app.MapPost("/login", LoginAsync).WithPageErrors().DisableAntiforgery().ExcludeFromDescription();
        app.MapPost("/login/password", ChangePasswordAsync).WithPageErrors().DisableAntiforgery().ExcludeFromDescription();
    }

    private static async Task<IResult> ShowAsync(HttpContext http, Csrf csrf, AuthorizeValidator validator, string? return_to, CancellationToken ct)
    {
        var returnTo = RedirectUri.SafeReturnTo(return_to);
        await AllowRedirectOfAsync(http, returnTo, validator, ct);
        PasskeyEndpoints.AllowPageScripts(http.Response);
        return AuthPages.Login(csrf.TokenFor(http), returnTo, null, null, null);
    }

    /// <summary>
    /// When the form resumes an authorization request, its redirect chain may end at that request's
    /// (validated) redirect URI: the page's CSP must allow it (<see cref="SecurityHeaders.AllowFormRedirectTo"/>).
    /// </summary>
    private static async Task AllowRedirectOfAsync(HttpContext http, string returnTo, AuthorizeValidator validator, CancellationToken ct)
    {
        const string authorize = "/api/v1/oauth/authorize";
        if (!returnTo.StartsWith(authorize + "?", StringComparison.Ordinal)) return;
        var query = QueryHelpers.ParseQuery(returnTo[authorize.Length..]);
        if (query.Any(kv => kv.Value.Count != 1)) return;
        var (trusted, _) = await validator.TrustAsync(query.ToDictionary(kv => kv.Key, kv => kv.Value.ToString()), ct);
        if (trusted is not null) SecurityHeaders.AllowFormRedirectTo(http.Response, trusted.RedirectUri);
    }

    private static async Task<IResult> LoginAsync(HttpContext http, PasswordLogin login, SecondFactorStep step, BrowserSession browser, Csrf csrf,
        RateLimiter limiter, ClientAddress address, AuthorizeValidator validator, CancellationToken ct)
    {
        var form = await FormParameters.ReadAsync(http.Request, ct);
        var returnTo = RedirectUri.SafeReturnTo(form.GetValueOrDefault("return_to"));
        await AllowRedirectOfAsync(http, returnTo, validator, ct);
        var username = form.GetValueOrDefault("username") ?? "";
        PasskeyEndpoints.AllowPageScripts(http.Response);
        if (!csrf.IsValid(http, form.GetValueOrDefault(Csrf.FieldName)))
            return AuthPages.Login(csrf.TokenFor(http), returnTo, null, username, "Your session expired. Please sign in again.", 403);
        // A refused login (same message for unknown users and wrong passwords: PasswordLogin guarantees it) or a
        // lockout (429 with Retry-After) is shown on the login form.
        PageErrors.OnRefusal(http, r => AuthPages.Login(csrf.TokenFor(http), returnTo, null, username, r.Message, r.Status));
        await limiter.CheckAsync("login", address.Of(http)?.ToString(), ct);
        var user = await login.CheckAsync(username, form.GetValueOrDefault("password") ?? "", address.Of(http)?.ToString(), ct);
        // Issue 16: a user with a second factor (or who must have one) continues to that step; no session before it.
        if (await step.AfterFirstFactorAsync(user, AuthenticationMethods.AfterPassword, ct) is SecondFactorStep.Pending pending)
            return SecondFactorEndpoints.Begin(http, pending, returnTo);
        await browser.StartAsync(http, user, ct);
        if (user.RequiresPasswordChange) return AuthPages.ChangePassword(csrf.TokenFor(http), returnTo, null);
        return Results.Redirect(returnTo, permanent: false, preserveMethod: false);
    }

    private static async Task<IResult> ChangePasswordAsync(HttpContext http, BrowserSession browser, UserAccounts accounts, Csrf csrf,
        AuthorizeValidator validator, ClientAddress address, CancellationToken ct)
    {
        var form = await FormParameters.ReadAsync(http.Request, ct);
        var returnTo = RedirectUri.SafeReturnTo(form.GetValueOrDefault("return_to"));
        await AllowRedirectOfAsync(http, returnTo, validator, ct);
        if (!csrf.IsValid(http, form.GetValueOrDefault(Csrf.FieldName)))
            return Html.Error("Request expired", "The form was not valid any more. Please start again.", 403);
        var current = await browser.GetAsync(http, ct);
        if (current is null) return AuthPages.Login(csrf.TokenFor(http), returnTo, null, null, "Please sign in first.", 401);
        if (form.GetValueOrDefault("new_password") != form.GetValueOrDefault("confirm_password"))
            return AuthPages.ChangePassword(csrf.TokenFor(http), returnTo, "The new passwords do not match.", 400);
        // A rejected password, or the password guard (the current password is checked like a login, and locks
        // like one: 429 with Retry-After), is shown on the form.
        PageErrors.OnRefusal(http, r => AuthPages.ChangePassword(csrf.TokenFor(http), returnTo, r.Message, r.Status));
        await accounts.ChangePasswordAsync(current.User.Id, form.GetValueOrDefault("current_password"), form.GetValueOrDefault("new_password"),
            callerAccessJti: null, current.Sid, address.Of(http)?.ToString(), ct);
        return Results.Redirect(returnTo);
    }
}
