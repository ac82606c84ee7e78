using Authly.Authorization;
using Authly.Mfa;
using Authly.Server.Http;
using Authly.Server.Pages;
using Authly.Tokens;
using Authly.Users;

namespace Authly.Server.Endpoints;

/// <summary>
/// The second-factor pages: the step after the password (/login/second-factor), the enrolment a user who must
/// have a factor goes through before anything is issued (/login/enrol), and the signed-in user's own page
/// (/account/mfa: set up TOTP, new recovery codes). The rules are <see cref="SecondFactorStep"/>'s; errors go
/// through <see cref="PageErrors"/>.
/// </summary>
public static class SecondFactorEndpoints
{
    public static void MapSecondFactorEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/login/second-factor", ShowStepAsync).WithPageErrors().ExcludeFromDescription();
        app.MapPost("/login/second-factor", VerifyAsync).WithPageErrors().DisableAntiforgery().ExcludeFromDescription();
        app.MapGet("/login/enrol", ShowPendingEnrolAsync).WithPageErrors().ExcludeFromDescription();
        app.MapPost("/login/enrol", ConfirmPendingEnrolAsync).WithPageErrors().DisableAntiforgery().ExcludeFromDescription();
        app.MapGet("/account/mfa", AccountAsync).WithPageErrors().ExcludeFromDescription();
        app.MapGet("/account/mfa/totp", ShowAccountEnrolAsync).WithPageErrors().ExcludeFromDescription();
        app.MapPost("/account/mfa/totp", ConfirmAccountEnrolAsync).WithPageErrors().DisableAntiforgery().ExcludeFromDescription();
        app.MapPost("/account/mfa/recovery-codes", RegenerateAsync).WithPageErrors().DisableAntiforgery().ExcludeFromDescription();
    }

    /// <summary>Where the browser goes after the password when the login is pending (see <see cref="LoginEndpoints"/> and the authorize step-up).</summary>
    public static IResult Begin(HttpContext http, SecondFactorStep.Pending pending, string returnTo)
    {
        PendingLoginCookie.Set(http, pending.Secret);
        var page = pending.MustEnrol ? "/login/enrol" : "/login/second-factor";
        return Results.Redirect($"{page}?return_to={Uri.EscapeDataString(returnTo)}");
    }

    private static IResult Expired(HttpContext http, Csrf csrf, string returnTo)
    {
        PendingLoginCookie.Clear(http);
        return AuthPages.Login(csrf.TokenFor(http), returnTo, null, null, MfaErrors.PendingExpired().Detail, 401);
    }

    /// <summary>The step page; with a passkey on offer, with the CSP its script needs.</summary>
    private static IResult StepPage(HttpContext http, Csrf csrf, string returnTo, IReadOnlyList<string> factors, string? error, int status = 200)
    {
        if (MfaPages.OffersPasskey(factors)) PasskeyEndpoints.AllowPageScripts(http.Response);
        return MfaPages.Step(csrf.TokenFor(http), returnTo, factors, error, status);
    }

    private static async Task<IResult> ShowStepAsync(HttpContext http, SecondFactorStep step, Csrf csrf, string? return_to, CancellationToken ct)
    {
        var returnTo = RedirectUri.SafeReturnTo(return_to);
        var open = await step.FindAsync(PendingLoginCookie.Of(http), ct);
        if (open is null) return Expired(http, csrf, returnTo);
        if (open.MustEnrol) return Results.Redirect($"/login/enrol?return_to={Uri.EscapeDataString(returnTo)}");
        return StepPage(http, csrf, returnTo, open.Factors, null);
    }

    private static async Task<IResult> VerifyAsync(HttpContext http, SecondFactorStep step, BrowserSession browser, Csrf csrf, ClientAddress address,
        CancellationToken ct)
    {
        var form = await FormParameters.ReadAsync(http.Request, ct);
        var returnTo = RedirectUri.SafeReturnTo(form.GetValueOrDefault("return_to"));
        var pending = PendingLoginCookie.Of(http);
        var open = await step.FindAsync(pending, ct);
        if (open is null) return Expired(http, csrf, returnTo);
        if (!csrf.IsValid(http, form.GetValueOrDefault(Csrf.FieldName)))
            return StepPage(http, csrf, returnTo, open.Factors, "The form expired. Please try again.", 403);
        // A wrong code or a lockout (429 with Retry-After) is shown on the step page.
        PageErrors.OnRefusal(http, r => StepPage(http, csrf, returnTo, open.Factors, r.Message, r.Status));
        var done = await step.VerifyAsync(pending, form.GetValueOrDefault("factor") ?? "", form.GetValueOrDefault("code"), address.Of(http)?.ToString(), ct);
        return await SignInAsync(http, browser, csrf, done, returnTo, ct);
    }

    /// <summary>The login is complete: a session with its amr; then, as after a password-only login, a forced password change.</summary>
    private static async Task<IResult> SignInAsync(HttpContext http, BrowserSession browser, Csrf csrf, SecondFactorStep.Complete done, string returnTo,
        CancellationToken ct, IReadOnlyList<string>? recoveryCodes = null)
    {
        await browser.StartAsync(http, done.User, done.Amr, ct);
        if (recoveryCodes is not null) return MfaPages.RecoveryCodes(recoveryCodes, returnTo);
        if (done.User.RequiresPasswordChange) return AuthPages.ChangePassword(csrf.TokenFor(http), returnTo, null);
        return Results.Redirect(returnTo);
    }

    private static async Task<IResult> ShowPendingEnrolAsync(HttpContext http, SecondFactorStep step, TotpStore totp, Issuer issuer, Csrf csrf,
        string? return_to, CancellationToken ct)
    {
        var returnTo = RedirectUri.SafeReturnTo(return_to);
        var open = await step.FindAsync(PendingLoginCookie.Of(http), ct);
        if (open is null) return Expired(http, csrf, returnTo);
        if (!open.MustEnrol) return Results.Redirect($"/login/second-factor?return_to={Uri.EscapeDataString(returnTo)}");
        return await EnrolPageAsync(http, totp, issuer, csrf, open.User, "/login/enrol", returnTo, null, 200, ct);
    }

    private static async Task<IResult> ConfirmPendingEnrolAsync(HttpContext http, SecondFactorStep step, TotpStore totp, RecoveryCodeStore recoveryCodes,
        MfaAudit audit, BrowserSession browser, Issuer issuer, Csrf csrf, CancellationToken ct)
    {
        var form = await FormParameters.ReadAsync(http.Request, ct);
        var returnTo = RedirectUri.SafeReturnTo(form.GetValueOrDefault("return_to"));
        var pending = PendingLoginCookie.Of(http);
        var open = await step.FindAsync(pending, ct);
        if (open is null || !open.MustEnrol) return Expired(http, csrf, returnTo);
        if (!csrf.IsValid(http, form.GetValueOrDefault(Csrf.FieldName)))
            return await EnrolPageAsync(http, totp, issuer, csrf, open.User, "/login/enrol", returnTo, "The form expired. Please try again.", 403, ct);
        if (!await totp.ConfirmAsync(open.User.Id, form.GetValueOrDefault("code"), ct))
            return await EnrolPageAsync(http, totp, issuer, csrf, open.User, "/login/enrol", returnTo, MfaErrors.WrongCode, 401, ct);
        audit.Write("enrol", "success", open.User.Id, "user", SecondFactors.Totp);
        var codes = await recoveryCodes.RegenerateAsync(open.User.Id, ct);
        var done = await step.EnrolledAsync(pending!, open.User.Id, AuthenticationMethods.OneTimePassword, SecondFactors.Totp, ct);
        return await SignInAsync(http, browser, csrf, done, returnTo, ct, codes);
    }

    /// <summary>The enrolment page, with the secret of the enrolment in progress (or a new one). Conflict when a confirmed one exists.</summary>
    private static async Task<IResult> EnrolPageAsync(HttpContext http, TotpStore totp, Issuer issuer, Csrf csrf, User user, string action, string returnTo,
        string? error, int status, CancellationToken ct)
    {
        var secret = await totp.PendingSecretAsync(user.Id, ct) ?? await totp.StartEnrolmentAsync(user.Id, ct) ?? throw MfaErrors.AlreadyEnrolled();
        var issuerName = new Uri(issuer.Value).Host;
        // The page shows the secret: it must not be cached anywhere on the way.
        OAuthErrorFilter.NoStore(http.Response);
        return MfaPages.Enrol(csrf.TokenFor(http), action, returnTo, TotpVerifier.KeyUri(secret, "Authly " + issuerName, user.Username),
            TotpVerifier.Base32(secret), error, status);
    }

    private static IResult SignInFirst(string returnTo) => Results.Redirect($"/login?return_to={Uri.EscapeDataString(returnTo)}");

    private static async Task<IResult> AccountAsync(HttpContext http, BrowserSession browser, SecondFactors factors, Csrf csrf, CancellationToken ct)
    {
        var current = await browser.GetAsync(http, ct);
        if (current is null) return SignInFirst("/account/mfa");
        return MfaPages.Account(csrf.TokenFor(http), current.User.Username, await factors.SummaryAsync(current.User.Id, ct), null);
    }

    private static async Task<IResult> ShowAccountEnrolAsync(HttpContext http, BrowserSession browser, TotpStore totp, Issuer issuer, Csrf csrf,
        CancellationToken ct)
    {
        var current = await browser.GetAsync(http, ct);
        if (current is null) return SignInFirst("/account/mfa/totp");
        return await EnrolPageAsync(http, totp, issuer, csrf, current.User, "/account/mfa/totp", "/account/mfa", null, 200, ct);
    }

    private static async Task<IResult> ConfirmAccountEnrolAsync(HttpContext http, BrowserSession browser, TotpStore totp, RecoveryCodeStore recoveryCodes,
        MfaAudit audit, Issuer issuer, Csrf csrf, CancellationToken ct)
    {
        var form = await FormParameters.ReadAsync(http.Request, ct);
        var current = await browser.GetAsync(http, ct);
        if (current is null) return SignInFirst("/account/mfa/totp");
        if (!csrf.IsValid(http, form.GetValueOrDefault(Csrf.FieldName)))
            return await EnrolPageAsync(http, totp, issuer, csrf, current.User, "/account/mfa/totp", "/account/mfa", "The form expired. Please try again.", 403, ct);
        if (!await totp.ConfirmAsync(current.User.Id, form.GetValueOrDefault("code"), ct))
            return await EnrolPageAsync(http, totp, issuer, csrf, current.User, "/account/mfa/totp", "/account/mfa", MfaErrors.WrongCode, 401, ct);
        audit.Write("enrol", "success", current.User.Id, "user", SecondFactors.Totp);
        OAuthErrorFilter.NoStore(http.Response);
        return MfaPages.RecoveryCodes(await recoveryCodes.RegenerateAsync(current.User.Id, ct), "/account/mfa");
    }

    private static async Task<IResult> RegenerateAsync(HttpContext http, BrowserSession browser, SecondFactors factors, RecoveryCodeStore recoveryCodes,
        MfaAudit audit, Csrf csrf, CancellationToken ct)
    {
        var form = await FormParameters.ReadAsync(http.Request, ct);
        var current = await browser.GetAsync(http, ct);
        if (current is null) return SignInFirst("/account/mfa");
        var summary = await factors.SummaryAsync(current.User.Id, ct);
        if (!csrf.IsValid(http, form.GetValueOrDefault(Csrf.FieldName)))
            return MfaPages.Account(csrf.TokenFor(http), current.User.Username, summary, "The form expired. Please try again.");
        if (!summary.Totp)
            return MfaPages.Account(csrf.TokenFor(http), current.User.Username, summary, "Set up an authenticator app first.");
        var codes = await recoveryCodes.RegenerateAsync(current.User.Id, ct);
        audit.Write("recovery_codes", "regenerated", current.User.Id, "user", SecondFactors.RecoveryCode);
        OAuthErrorFilter.NoStore(http.Response);
        return MfaPages.RecoveryCodes(codes, "/account/mfa");
    }
}
