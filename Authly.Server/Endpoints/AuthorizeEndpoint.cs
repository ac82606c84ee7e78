using Authly.Authorization;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Server.Http;
using Authly.Server.Pages;
using Authly.Tokens;
using Microsoft.AspNetCore.WebUtilities;

namespace Authly.Server.Endpoints;

/// <summary>
/// GET and POST /api/v1/oauth/authorize. Until client_id and redirect_uri are trusted, errors are
/// an HTML page and never a redirect (RFC 6749 §4.1.2.1); after that, errors and results go to
/// the redirect URI with state and iss (RFC 9207). The rules themselves live in
/// <see cref="AuthorizeValidator"/>, <see cref="ConsentStore"/> and <see cref="AuthorizationCodeStore"/>.
/// </summary>
public static class AuthorizeEndpoint
{
    public static void MapAuthorizeEndpoint(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/oauth/authorize", HandleAsync).WithTags("oauth").WithSummary("Authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2)");
        app.MapPost("/api/v1/oauth/authorize", HandleAsync).WithTags("oauth").DisableAntiforgery()
            .WithSummary("Authorization endpoint (form), also receives the consent decision");
    }

    private static async Task<IResult> HandleAsync(HttpContext http, AuthorizeValidator validator, BrowserSession browser, ConsentStore consents,
        AuthorizationCodeStore codes, ScopeStore scopeStore, Csrf csrf, Issuer issuer, TimeProvider clock, CancellationToken ct)
    {
        Dictionary<string, string> p;
        try { p = await ReadParametersAsync(http.Request, ct); }
        catch (OAuthException e) { return Html.Error("Invalid request", e.Description); }

        AuthorizeValidator.Trusted trusted;
        try { trusted = await validator.TrustAsync(p, ct); }
        catch (AuthorizeError e) { return Html.Error("Invalid request", e.Message); }
        SecurityHeaders.AllowFormRedirectTo(http.Response, trusted.RedirectUri);

        try
        {
            var request = await validator.ValidateAsync(trusted, p, ct);
            var current = await browser.GetAsync(http, ct);
            var decision = HttpMethods.IsPost(http.Request.Method) ? p.GetValueOrDefault("approved") : null;

            if (current is null || (decision is null && request.NeedsFreshLogin(current.AuthTime, clock.GetUtcNow())))
            {
                // OIDC Core §3.1.2.6: with prompt=none, say so instead of showing a page.
                if (request.Prompt.Contains("none")) throw new OAuthException("login_required", "The user is not signed in");
                return AuthPages.Login(csrf.TokenFor(http), ReturnTo(p), request.Client.ClientName, request.LoginHint, null);
            }
            if (current.User.RequiresPasswordChange)
            {
                if (request.Prompt.Contains("none")) throw new OAuthException("interaction_required", "The user must change their password");
                return AuthPages.ChangePassword(csrf.TokenFor(http), ReturnTo(p), null);
            }

            var scopes = request.Scopes.Where(s => UserScopePolicy.MayHold(current.User, s)).ToHashSet(StringComparer.Ordinal);
            if (decision is not null)
            {
                if (!csrf.IsValid(http, p.GetValueOrDefault(Csrf.FieldName)))
                    return Html.Error("Request expired", "The form was not valid any more. Go back to the application and start again.", 403);
                if (decision != "true") throw OAuthException.AccessDenied("The user denied the request");
                await consents.GrantAsync(current.User.Id, request.Client.ClientId, scopes, ct);
            }
            else if (request.NeedsConsent(await consents.CoversAsync(current.User.Id, request.Client.ClientId, scopes, ct)))
            {
                if (request.Prompt.Contains("none")) throw new OAuthException("consent_required", "The user has not consented");
                return AuthPages.Consent(csrf.TokenFor(http), request.Client.ClientName, current.User.Username, scopes,
                    await scopeStore.ActiveAsync(ct), p);
            }

            var code = await codes.CreateAsync(request with { Scopes = scopes }, current.User.Id, current.AuthTime, current.Sid, ct);
            return Respond(http, trusted, issuer, [new("code", code)]);
        }
        catch (OAuthException e)
        {
            var fields = new List<KeyValuePair<string, string>> { new("error", e.Error), new("error_description", e.Description) };
            return Respond(http, trusted, issuer, fields);
        }
    }

    /// <summary>Sends the result to the client: 302 with a query, or an auto-submitting form (response_mode=form_post).</summary>
    private static IResult Respond(HttpContext http, AuthorizeValidator.Trusted t, Issuer issuer, List<KeyValuePair<string, string>> fields)
    {
        if (t.State is not null) fields.Add(new("state", t.State));
        fields.Add(new("iss", issuer.Value)); // RFC 9207
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

    /// <summary>Query (GET) or form (POST) parameters; a repeated parameter is an error (RFC 6749 §3.1).</summary>
    internal static async Task<Dictionary<string, string>> ReadParametersAsync(HttpRequest request, CancellationToken ct)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (HttpMethods.IsPost(request.Method)) return await FormParameters.ReadAsync(request, ct);
        foreach (var (key, values) in request.Query)
        {
            if (values.Count > 1) throw OAuthException.InvalidRequest($"The {key} parameter is repeated");
            result[key] = values.ToString();
        }
        return result;
    }

    /// <summary>Where the login page returns to: this authorization request as <see cref="AuthorizeRequest.ResumeAfterLogin"/> says.</summary>
    private static string ReturnTo(IReadOnlyDictionary<string, string> p)
    {
        var query = AuthorizeRequest.ResumeAfterLogin(p.Where(kv => kv.Key is not ("approved" or Csrf.FieldName)))
            .ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
        return QueryHelpers.AddQueryString("/api/v1/oauth/authorize", query);
    }
}
