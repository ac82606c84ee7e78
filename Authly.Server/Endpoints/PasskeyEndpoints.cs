using System.Text.Json;
using System.Text.Json.Serialization;
using Authly.Admin;
using Authly.Mfa;
using Authly.Passkeys;
using Authly.Server.Http;
using Authly.Server.Pages;
using Authly.Users;

namespace Authly.Server.Endpoints;

/// <summary>
/// Passkeys (issue 16): the account page (<c>/account/passkeys</c>: list, add, rename, delete), the
/// passwordless sign-in behind the login page's "Sign in with a passkey", and the admin's view
/// (<c>/admin/users/{id}/mfa/passkeys</c>). The ceremonies' JSON calls answer API errors; the forms
/// answer pages. Every rule is in <c>Authly.Core/Passkeys</c>; this file only moves the challenge
/// handle between Core and this browser's cookie.
/// </summary>
public static class PasskeyEndpoints
{
    /// <summary>The handle of this browser's running ceremony (HttpOnly, SameSite=Strict, five minutes): it binds the challenge to the browser.</summary>
    public const string ChallengeCookie = "authly_webauthn";
    public const string AccountPath = "/account/passkeys";

    public sealed record OptionsRequest([property: JsonPropertyName("csrf_token")] string? CsrfToken);

    public sealed record RegisterRequest(
        [property: JsonPropertyName("csrf_token")] string? CsrfToken,
        [property: JsonPropertyName("name")] string? Name,
        [property: JsonPropertyName("credential")] JsonElement Credential);

    public sealed record SignInRequest(
        [property: JsonPropertyName("csrf_token")] string? CsrfToken,
        [property: JsonPropertyName("return_to")] string? ReturnTo,
        [property: JsonPropertyName("credential")] JsonElement Credential);

    public sealed record PasskeyView(
        [property: JsonPropertyName("id")] Guid Id,
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("created_at")] DateTime CreatedAt,
        [property: JsonPropertyName("last_used_at")] DateTime? LastUsedAt,
        [property: JsonPropertyName("aaguid")] Guid Aaguid,
        [property: JsonPropertyName("transports")] string[] Transports,
        [property: JsonPropertyName("backup_eligible")] bool BackupEligible,
        [property: JsonPropertyName("backed_up")] bool BackedUp)
    {
        public static PasskeyView Of(Passkey p) => new(p.Id, p.Name, p.CreatedAt, p.LastUsedAt, p.Aaguid, p.Transports, p.BackupEligible, p.BackedUp);
    }

    public static void MapPasskeyEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet(AccountPath, AccountPageAsync).WithPageErrors().ExcludeFromDescription();
        app.MapPost(AccountPath + "/{id}/rename", RenameAsync).WithPageErrors().DisableAntiforgery().ExcludeFromDescription();
        app.MapPost(AccountPath + "/{id}/delete", DeleteAsync).WithPageErrors().DisableAntiforgery().ExcludeFromDescription();

        var ceremonies = app.MapGroup("").WithTags("passkeys").AddEndpointFilter<ApiErrorFilter>().DisableAntiforgery();
        ceremonies.MapPost(AccountPath + "/options", RegistrationOptionsAsync).RateLimited("passkey")
            .WithSummary("WebAuthn creation options for the signed-in browser (session cookie, csrf_token)");
        ceremonies.MapPost(AccountPath, RegisterAsync).RateLimited("passkey")
            .WithSummary("Verify and store a new passkey of the signed-in user");
        ceremonies.MapPost("/login/passkey/options", SignInOptionsAsync).RateLimited("login")
            .WithSummary("WebAuthn request options for a passwordless sign-in (discoverable credentials)");
        ceremonies.MapPost("/login/passkey", SignInAsync).RateLimited("login")
            .WithSummary("Verify a passkey assertion and start the browser session");
        // Under /login: the pending-login cookie (PendingLoginCookie, path /login) names the user, nothing in the body does.
        ceremonies.MapPost("/login/second-factor/passkey/options", SecondFactorOptionsAsync).RateLimited("login")
            .WithSummary("WebAuthn request options for the pending login's user (the passkey as a second factor)");
        ceremonies.MapPost("/login/second-factor/passkey", SecondFactorAsync).RateLimited("login")
            .WithSummary("Verify the pending user's passkey assertion, complete the pending login and start the browser session");

        var admin = app.MapGroup("/admin/users").WithTags("admin").AddEndpointFilter<ApiErrorFilter>().AddEndpointFilter<AdminAuthorizationFilter>();
        admin.MapGet("/{id}/mfa/passkeys", AdminListAsync).Needs("admin:users:read").WithSummary("The user's passkeys (never their keys)");
        admin.MapDelete("/{id}/mfa/passkeys", AdminDeleteAllAsync).Needs("admin:users:write").WithSummary("Delete all of the user's passkeys");
        admin.MapDelete("/{id}/mfa/passkeys/{passkeyId}", AdminDeleteAsync).Needs("admin:users:write").WithSummary("Delete one of the user's passkeys");
    }

    /// <summary>Pages that run <c>/static/passkeys.js</c> need 'self' scripts and fetches, which the default page CSP does not allow.</summary>
    public static void AllowPageScripts(HttpResponse response)
    {
        var csp = response.Headers.ContentSecurityPolicy.ToString();
        if (!csp.Contains("script-src", StringComparison.Ordinal))
            response.Headers.ContentSecurityPolicy = csp.Replace("default-src 'none';", "default-src 'none'; script-src 'self'; connect-src 'self';", StringComparison.Ordinal);
    }

    /// <summary>A login page (which carries "Sign in with a passkey"), with the CSP its script needs.</summary>
    public static IResult LoginPage(HttpContext http, IResult page)
    {
        AllowPageScripts(http.Response);
        return page;
    }

    private static async Task<IResult> AccountPageAsync(HttpContext http, BrowserSession browser, Csrf csrf, PasskeyStore store, CancellationToken ct)
    {
        var current = await browser.GetAsync(http, ct);
        if (current is null) return Results.Redirect("/login?return_to=" + Uri.EscapeDataString(AccountPath));
        AllowPageScripts(http.Response);
        return PasskeyPages.Account(csrf.TokenFor(http), current.User.Username, await store.ListAsync(current.User.Id, ct));
    }

    private static async Task<IResult> RenameAsync(HttpContext http, string id, BrowserSession browser, Csrf csrf, PasskeyStore store, CancellationToken ct)
    {
        var (user, form) = await SignedInFormAsync(http, browser, csrf, ct);
        var name = PasskeyRegistration.ValidName(form.GetValueOrDefault("name"));
        _ = await store.RenameAsync(user.Id, RouteIds.Parse(id), name, ct) ?? throw PasskeyErrors.NotFound();
        return Results.Redirect(AccountPath);
    }

    private static async Task<IResult> DeleteAsync(HttpContext http, string id, BrowserSession browser, Csrf csrf, PasskeyStore store,
        ILogger<PasskeyStore> log, CancellationToken ct)
    {
        var (user, _) = await SignedInFormAsync(http, browser, csrf, ct);
        var passkeyId = RouteIds.Parse(id);
        if (!await store.DeleteAsync(user.Id, passkeyId, ct)) throw PasskeyErrors.NotFound();
        log.LogInformation("audit: passkey {PasskeyId} deleted by its user {UserId}", passkeyId, user.Id);
        return Results.Redirect(AccountPath);
    }

    private static async Task<(User User, Dictionary<string, string> Form)> SignedInFormAsync(HttpContext http, BrowserSession browser, Csrf csrf, CancellationToken ct)
    {
        var form = await FormParameters.ReadAsync(http.Request, ct);
        if (!csrf.IsValid(http, form.GetValueOrDefault(Csrf.FieldName))) throw AuthlyException.Forbidden("The form was not valid any more. Please reload the page.");
        var current = await browser.GetAsync(http, ct) ?? throw new AuthlyException(401, "Please sign in first.");
        return (current.User, form);
    }

    private static async Task<User> SignedInAsync(HttpContext http, BrowserSession browser, Csrf csrf, string? csrfToken, CancellationToken ct)
    {
        if (!csrf.IsValid(http, csrfToken)) throw AuthlyException.Forbidden("The page was not valid any more. Please reload it.");
        var current = await browser.GetAsync(http, ct) ?? throw new AuthlyException(401, "Please sign in first.");
        return current.User;
    }

    private static async Task<IResult> RegistrationOptionsAsync(HttpContext http, BrowserSession browser, Csrf csrf, PasskeyRegistration registration,
        Authly.Tokens.Issuer issuer, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<OptionsRequest>(http.Request, ct);
        var user = await SignedInAsync(http, browser, csrf, body.CsrfToken, ct);
        return Ceremony(http, issuer, await registration.BeginAsync(user, ct));
    }

    private static async Task<IResult> RegisterAsync(HttpContext http, BrowserSession browser, Csrf csrf, PasskeyRegistration registration, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<RegisterRequest>(http.Request, ct);
        var user = await SignedInAsync(http, browser, csrf, body.CsrfToken, ct);
        var handle = TakeHandle(http);
        var passkey = await registration.FinishAsync(user.Id, handle, body.Credential, body.Name, ct);
        return Results.Json(PasskeyView.Of(passkey), statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> SignInOptionsAsync(HttpContext http, Csrf csrf, PasskeyAssertion assertion, Authly.Tokens.Issuer issuer, CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<OptionsRequest>(http.Request, ct);
        // Login CSRF: only this site's own login page may start a sign-in for this browser.
        if (!csrf.IsValid(http, body.CsrfToken)) throw AuthlyException.Forbidden("The page was not valid any more. Please reload it.");
        return Ceremony(http, issuer, await assertion.BeginSignInAsync(ct));
    }

    private static async Task<IResult> SignInAsync(HttpContext http, Csrf csrf, PasskeyAssertion assertion, BrowserSession browser, ClientAddress address,
        CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<SignInRequest>(http.Request, ct);
        if (!csrf.IsValid(http, body.CsrfToken)) throw AuthlyException.Forbidden("The page was not valid any more. Please reload it.");
        var returnTo = RedirectUri.SafeReturnTo(body.ReturnTo);
        var verified = await assertion.VerifySignInAsync(TakeHandle(http), body.Credential, address.Of(http)?.ToString(), ct);
        // The same session start as the password login (LoginEndpoints), recording how the user signed in.
        await browser.StartAsync(http, verified.User, verified.Amr, ct);
        return Results.Json(new { redirect_to = returnTo });
    }

    private static async Task<IResult> SecondFactorOptionsAsync(HttpContext http, Csrf csrf, SecondFactorStep step, Authly.Tokens.Issuer issuer,
        CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<OptionsRequest>(http.Request, ct);
        if (!csrf.IsValid(http, body.CsrfToken)) throw AuthlyException.Forbidden("The page was not valid any more. Please reload it.");
        return Ceremony(http, issuer, await step.BeginPasskeyAsync(PendingLoginCookie.Of(http), ct));
    }

    private static async Task<IResult> SecondFactorAsync(HttpContext http, Csrf csrf, SecondFactorStep step, BrowserSession browser, ClientAddress address,
        CancellationToken ct)
    {
        var body = await JsonBody.ReadAsync<SignInRequest>(http.Request, ct);
        if (!csrf.IsValid(http, body.CsrfToken)) throw AuthlyException.Forbidden("The page was not valid any more. Please reload it.");
        var returnTo = RedirectUri.SafeReturnTo(body.ReturnTo);
        var done = await step.VerifyPasskeyAsync(PendingLoginCookie.Of(http), TakeHandle(http), body.Credential, address.Of(http)?.ToString(), ct);
        // As after a code (SecondFactorEndpoints): the session with the pending login's amr plus the key's; a forced
        // password change is asked for by the next page (authorize, the account pages).
        await browser.StartAsync(http, done.User, done.Amr, ct);
        return Results.Json(new { redirect_to = returnTo });
    }

    private static IResult Ceremony(HttpContext http, Authly.Tokens.Issuer issuer, PasskeyCeremony ceremony)
    {
        http.Response.Cookies.Append(ChallengeCookie, ceremony.Handle, new CookieOptions
        {
            HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/", IsEssential = true, MaxAge = PasskeyChallengeStore.Lifetime,
            Secure = issuer.Value.StartsWith("https://", StringComparison.Ordinal),
        });
        http.Response.Headers.CacheControl = "no-store";
        return Results.Content(ceremony.Options, "application/json; charset=utf-8");
    }

    /// <summary>The handle of this browser's ceremony; the cookie goes either way, since a challenge is good for one try.</summary>
    private static string? TakeHandle(HttpContext http)
    {
        var handle = http.Request.Cookies[ChallengeCookie];
        http.Response.Cookies.Delete(ChallengeCookie, new CookieOptions { Path = "/" });
        return handle;
    }

    private static async Task<IResult> AdminListAsync(string id, UserStore users, PasskeyStore store, CancellationToken ct)
    {
        var user = await users.FindByIdAsync(RouteIds.Parse(id), ct) ?? throw AuthlyException.NotFound("User");
        return Results.Json(new { user_id = user.Id, passkeys = (await store.ListAsync(user.Id, ct)).Select(PasskeyView.Of) });
    }

    private static async Task<IResult> AdminDeleteAllAsync(HttpContext http, string id, UserStore users, PasskeyStore store, ILogger<PasskeyStore> log, CancellationToken ct)
    {
        var user = await users.FindByIdAsync(RouteIds.Parse(id), ct) ?? throw AuthlyException.NotFound("User");
        var deleted = await store.DeleteAllAsync(user.Id, ct);
        log.LogWarning("audit: admin {AdminId} deleted all {Count} passkeys of user {UserId}", AdminOf(http), deleted, user.Id);
        return Results.Json(new { user_id = user.Id, passkeys_deleted = deleted });
    }

    private static async Task<IResult> AdminDeleteAsync(HttpContext http, string id, string passkeyId, UserStore users, PasskeyStore store,
        ILogger<PasskeyStore> log, CancellationToken ct)
    {
        var user = await users.FindByIdAsync(RouteIds.Parse(id), ct) ?? throw AuthlyException.NotFound("User");
        var passkey = RouteIds.Parse(passkeyId, "passkeyId");
        if (!await store.DeleteAsync(user.Id, passkey, ct)) throw PasskeyErrors.NotFound();
        log.LogWarning("audit: admin {AdminId} deleted passkey {PasskeyId} of user {UserId}", AdminOf(http), passkey, user.Id);
        return Results.NoContent();
    }

    private static Guid? AdminOf(HttpContext http) =>
        http.Items.TryGetValue(typeof(AdminAccess.Decision), out var d) ? (d as AdminAccess.Decision)?.User?.Id : null;
}
