using Authly.Authorization;
using Authly.Mfa;
using Authly.OAuth;
using Authly.Server.Http;
using Authly.Server.Pages;
using Microsoft.AspNetCore.WebUtilities;

namespace Authly.Server.Endpoints;

/// <summary>
/// GET and POST /api/v1/oauth/authorize. Until client_id and redirect_uri are trusted, errors are
/// an HTML page and never a redirect (RFC 6749 §4.1.2.1); after that, errors and results go to
/// the redirect URI with state and iss (RFC 9207). The decision is <see cref="AuthorizeFlow"/>'s;
/// this endpoint parses, calls it and renders what it decided. Errors go through <see cref="PageErrors"/>.
/// </summary>
public static class AuthorizeEndpoint
{
    public static void MapAuthorizeEndpoint(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/oauth/authorize", HandleAsync).WithPageErrors()
            .WithTags("oauth").WithSummary("Authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2)");
        app.MapPost("/api/v1/oauth/authorize", HandleAsync).WithPageErrors().WithTags("oauth").DisableAntiforgery()
            .WithSummary("Authorization endpoint (form), also receives the consent decision");
    }

    private static async Task<IResult> HandleAsync(HttpContext http, AuthorizeFlow flow, BrowserSession browser, SecondFactorStep step, Csrf csrf,
        CancellationToken ct)
    {
        var p = await ReadParametersAsync(http.Request, ct);
        var answer = HttpMethods.IsPost(http.Request.Method) && p.TryGetValue("approved", out var approved)
            ? new AuthorizeFlow.ConsentAnswer(approved == "true", csrf.IsValid(http, p.GetValueOrDefault(Csrf.FieldName)))
            : null;
        var decision = await flow.DecideAsync(p, async c => await browser.GetAsync(http, c) is { } s ? s.SignedIn : null, answer, ct);
        if (decision.Trusted is { } trusted) SecurityHeaders.AllowFormRedirectTo(http.Response, trusted.RedirectUri);
        return decision switch
        {
            AuthorizeFlow.Refused r => Html.Error("Invalid request", r.Message),
            AuthorizeFlow.ShowLogin l => PasskeyEndpoints.LoginPage(http, AuthPages.Login(csrf.TokenFor(http), ReturnTo(p), l.ClientName, l.LoginHint, null)),
            AuthorizeFlow.ChangePassword => AuthPages.ChangePassword(csrf.TokenFor(http), ReturnTo(p), null),
            AuthorizeFlow.StepUp s => SecondFactorEndpoints.Begin(http, await step.StepUpAsync(s.User, s.Amr, ct), ReturnTo(p)),
            AuthorizeFlow.ShowConsent c => AuthPages.Consent(csrf.TokenFor(http), c.ClientName, c.Username, c.Scopes, c.Known, p),
            AuthorizeFlow.FormExpired => Html.Error("Request expired", "The form was not valid any more. Go back to the application and start again.", 403),
            AuthorizeFlow.Redirect r => Respond(http, r),
            _ => throw new InvalidOperationException($"Unknown authorize decision {decision.GetType().Name}"),
        };
    }

    /// <summary>Sends the result to the client: 302 with a query, or an auto-submitting form (response_mode=form_post).</summary>
    private static IResult Respond(HttpContext http, AuthorizeFlow.Redirect r)
    {
        var t = r.To;
        var fields = r.Fields;
        OAuthErrorFilter.NoStore(http.Response);
        if (t.ResponseMode == "form_post")
        {
            var target = new Uri(t.RedirectUri);
            // The page posts to the client's redirect URI, so form-action names exactly that origin.
            http.Response.Headers.ContentSecurityPolicy =
                $"default-src 'none'; script-src 'self'; style-src 'self'; form-action {target.GetLeftPart(UriPartial.Authority)}; frame-ancestors 'none'";
            return AuthPages.FormPost(t.RedirectUri, fields);
        }
        return Results.Redirect(RedirectUri.With(t.RedirectUri, fields));
    }

    /// <summary>Query (GET) or form (POST) parameters; a repeated parameter is an error (RFC 6749 §3.1), but for resource (RFC 8707).</summary>
    internal static async Task<Dictionary<string, string>> ReadParametersAsync(HttpRequest request, CancellationToken ct)
    {
        if (HttpMethods.IsPost(request.Method)) return await FormParameters.ReadAsync(request, ct);
        var (result, error) = FormParameters.Flatten(request.Query);
        return result ?? throw OAuthException.InvalidRequest(error!);
    }

    /// <summary>Where the login page returns to: this authorization request as <see cref="AuthorizeRequest.ResumeAfterLogin"/> says.</summary>
    private static string ReturnTo(IReadOnlyDictionary<string, string> p)
    {
        var query = AuthorizeRequest.ResumeAfterLogin(p.Where(kv => kv.Key is not ("approved" or Csrf.FieldName)))
            .ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
        return QueryHelpers.AddQueryString("/api/v1/oauth/authorize", query);
    }
}
