using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Authly.Clients;
using Authly.OAuth;
using Authly.Oidc;
using Authly.Scopes;
using Authly.Server.Http;
using Authly.Server.Pages;
using Authly.Sessions;
using Authly.Tokens;
using Authly.Users;

namespace Authly.Server.Endpoints;

/// <summary>/oidc: userinfo (OIDC Core §5.3), RP-initiated logout, session check, check-session iframe, front-channel logout.</summary>
public static class OidcEndpoints
{
    public static void MapOidcEndpoints(this IEndpointRouteBuilder app)
    {
        var bearer = app.MapGroup("/oidc").WithTags("oidc").AddEndpointFilter<OAuthErrorFilter>().DisableAntiforgery();
        bearer.MapGet("/userinfo", UserInfoAsync).RequireCors(AuthlyWebApp.PublicCors).WithSummary("UserInfo (OIDC Core §5.3)");
        bearer.MapPost("/userinfo", UserInfoAsync).RequireCors(AuthlyWebApp.PublicCors).WithSummary("UserInfo (OIDC Core §5.3)");
        bearer.MapPut("/userinfo", UpdateUserInfoAsync).WithSummary("Update the caller's profile claims allowed by its scopes");

        app.MapGet("/oidc/logout", LogoutAsync).WithTags("oidc").WithSummary("RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)");
        app.MapPost("/oidc/logout", LogoutAsync).WithTags("oidc").DisableAntiforgery().ExcludeFromDescription();
        app.MapGet("/oidc/session/check", SessionCheckAsync).WithTags("oidc").WithSummary("Whether this browser has a live session");
        app.MapGet("/oidc/session/iframe", SessionIframe).WithTags("oidc").WithSummary("OIDC Session Management check_session_iframe");
        app.MapGet("/oidc/frontchannel/logout", FrontChannelLogoutAsync).WithTags("oidc").WithSummary("Front-channel logout (ends the session named by sid)");
    }

    /// <summary>RFC 6750 §2.1 bearer token → a user token with the openid scope, or the matching error.</summary>
    private static async Task<(AccessTokenClaims Claims, User User)> CallerAsync(HttpRequest request, TokenIntrospection introspection, UserStore users, CancellationToken ct)
    {
        var token = BasicCredentials.Bearer(request);
        if (token is null)
        {
            // RFC 6750 §3.1: no credentials → 401 with a bare challenge.
            request.HttpContext.Response.Headers.WWWAuthenticate = BearerChallenge.Header();
            throw OAuthException.InvalidToken("An access token is required");
        }
        var claims = await introspection.ValidateAccessTokenAsync(token, ct) ?? throw OAuthException.InvalidToken("The access token is invalid or expired");
        if (claims.UserId is not { } id) throw OAuthException.InsufficientScope("The token does not represent a user");
        if (!claims.Scopes.Contains(OidcScopes.OpenId)) throw OAuthException.InsufficientScope("The openid scope is required");
        var user = await users.FindByIdAsync(id, ct);
        if (user is not { IsActive: true }) throw OAuthException.InvalidToken("The user is not active");
        return (claims, user);
    }

    private static async Task<IResult> UserInfoAsync(HttpRequest request, TokenIntrospection introspection, UserStore users, CancellationToken ct)
    {
        var (claims, user) = await CallerAsync(request, introspection, users, ct);
        return Results.Json(UserClaims.For(user, claims.Scopes));
    }

    private static async Task<IResult> UpdateUserInfoAsync(HttpRequest request, TokenIntrospection introspection, UserStore users, UserAccounts accounts, CancellationToken ct)
    {
        var (claims, user) = await CallerAsync(request, introspection, users, ct);
        UserProfile input;
        try { input = await JsonBody.ReadAsync<UserProfile>(request, ct); }
        catch (ApiException e) { throw OAuthException.InvalidRequest(e.Detail); }
        // Only the claims the token's scopes govern may change; account fields never change here.
        var allowed = UserProfile.ClaimsByScope.Where(kv => claims.Scopes.Contains(kv.Key)).SelectMany(kv => kv.Value).ToHashSet();
        var wanted = new Dictionary<string, bool>
        {
            ["given_name"] = input.GivenName is not null, ["family_name"] = input.FamilyName is not null, ["middle_name"] = input.MiddleName is not null,
            ["nickname"] = input.Nickname is not null, ["preferred_username"] = input.PreferredUsername is not null, ["profile"] = input.Profile is not null,
            ["picture"] = input.Picture is not null, ["website"] = input.Website is not null, ["gender"] = input.Gender is not null,
            ["birthdate"] = input.Birthdate is not null, ["zoneinfo"] = input.Zoneinfo is not null, ["locale"] = input.Locale is not null,
            ["phone_number"] = input.PhoneNumber is not null, ["address"] = input.Address is not null,
        };
        var refused = wanted.Where(kv => kv.Value && !allowed.Contains(kv.Key)).Select(kv => kv.Key).ToList();
        if (refused.Count > 0) throw OAuthException.InsufficientScope($"The token's scopes do not allow changing: {string.Join(", ", refused)}");
        var profile = new UserProfile
        {
            GivenName = input.GivenName, FamilyName = input.FamilyName, MiddleName = input.MiddleName, Nickname = input.Nickname,
            PreferredUsername = input.PreferredUsername, Profile = input.Profile, Picture = input.Picture, Website = input.Website,
            Gender = input.Gender, Birthdate = input.Birthdate, Zoneinfo = input.Zoneinfo, Locale = input.Locale,
            PhoneNumber = input.PhoneNumber, Address = input.Address,
        };
        try
        {
            var updated = await accounts.UpdateAsync(user.Id, profile, ct) ?? user;
            return Results.Json(UserClaims.For(updated, claims.Scopes));
        }
        catch (ValidationException e) { throw OAuthException.InvalidRequest(e.Message); }
    }

    private static async Task<IResult> LogoutAsync(HttpContext http, IdTokenIssuer idTokens, ClientStore clients, BrowserSession browser,
        Csrf csrf, CancellationToken ct)
    {
        Dictionary<string, string> p;
        try { p = await AuthorizeEndpoint.ReadParametersAsync(http.Request, ct); }
        catch (OAuthException e) { return Html.Error("Invalid request", e.Description); }
        var hint = p.GetValueOrDefault("id_token_hint");
        var redirect = p.GetValueOrDefault("post_logout_redirect_uri");
        var state = p.GetValueOrDefault("state");
        string? clientId = p.GetValueOrDefault("client_id");
        string? hintSubject = null;
        if (!string.IsNullOrEmpty(hint))
        {
            var validated = await idTokens.ValidateHintAsync(hint, ct);
            if (validated is null) return Html.Error("Sign-out failed", "The id_token_hint is not a valid ID token of this server.");
            if (clientId is not null && clientId != validated.Value.ClientId) return Html.Error("Sign-out failed", "client_id does not match the id_token_hint.");
            (clientId, hintSubject, _) = validated.Value;
        }
        if (!string.IsNullOrEmpty(redirect))
        {
            // Only to a URI registered for the client the hint (or client_id) names: never an open redirect.
            var client = clientId is null ? null : await clients.FindActiveAsync(clientId, ct);
            if (client is null || !client.PostLogoutRedirectUris.Contains(redirect, StringComparer.Ordinal))
                return Html.Error("Sign-out failed", "The post_logout_redirect_uri is not registered for this client.");
            SecurityHeaders.AllowFormRedirectTo(http.Response, redirect);
        }

        // The hint identifies the RP and the user; it never authorizes. Only the session whose cookie
        // came with this request can end (issue #11 finding 6): never the hint's sid, which a request
        // without cookies, or another browser, could otherwise end. RP-Initiated Logout §2: the OP
        // MUST ask (the CSRF-protected POST, whose token is bound to this session) when there is no
        // valid hint or the hint belongs to someone other than the signed-in user. Nobody signed in
        // here with a valid hint: nothing to end and nothing to ask, the RP gets its user back.
        var current = await browser.GetAsync(http, ct);
        var hintIsThisUser = Guid.TryParse(hintSubject, out var hintUser) && (current is null || current.User.Id == hintUser);
        var confirmed = HttpMethods.IsPost(http.Request.Method) && csrf.IsValid(http, p.GetValueOrDefault(Csrf.FieldName));
        if (!hintIsThisUser && !confirmed)
            return AuthPages.LogoutConfirm(csrf.TokenFor(http),
                p.Where(kv => kv.Key is "post_logout_redirect_uri" or "state" or "client_id" or "id_token_hint"));

        if (current is not null) await browser.EndAsync(http, ct);
        if (string.IsNullOrEmpty(redirect)) return AuthPages.SignedOut();
        return Results.Redirect(RedirectUri.With(redirect, state is null ? [] : [new("state", state)]));
    }

    private static async Task<IResult> SessionCheckAsync(HttpContext http, SessionStore sessions, CancellationToken ct)
    {
        OAuthErrorFilter.NoStore(http.Response);
        var session = await sessions.FindActiveAsync(http.Request.Cookies[BrowserSession.CookieName], ct);
        if (session is null) return Results.Json(new { active = false });
        return Results.Json(new
        {
            active = true,
            sid = session.Sid,
            auth_time = new DateTimeOffset(DateTime.SpecifyKind(session.AuthTime, DateTimeKind.Utc)).ToUnixTimeSeconds(),
            session_state = SessionState(session.Sid),
        });
    }

    /// <summary>An opaque value that changes whenever the browser's session changes, without revealing the sid.</summary>
    private static string SessionState(string sid) => Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes("session-state:" + sid)))[..22];

    private static IResult SessionIframe(HttpContext http)
    {
        // The iframe is embedded by relying parties, so this one page may be framed.
        http.Response.Headers.XFrameOptions = default;
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; connect-src 'self'";
        return Results.Content("<!doctype html><html><head><meta charset=\"utf-8\"><title>Authly session</title>" +
                               "<script src=\"/static/session-iframe.js\"></script></head><body></body></html>", "text/html; charset=utf-8");
    }

    private static async Task<IResult> FrontChannelLogoutAsync(HttpContext http, BrowserSession browser, Issuer issuer,
        string? iss, string? sid, CancellationToken ct)
    {
        OAuthErrorFilter.NoStore(http.Response);
        http.Response.Headers.XFrameOptions = default;
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'self'";
        if (iss is not null && iss != issuer.Value) return Html.Error("Sign-out failed", "The iss parameter names another issuer.");
        // Front-Channel Logout §2 (session supported): sid names the session. Without it, any link
        // would sign out whoever follows it (RP-Initiated Logout §6), so it is required.
        if (string.IsNullOrEmpty(sid)) return Html.Error("Sign-out failed", "The sid parameter is required.");
        var current = await browser.GetAsync(http, ct);
        // Only the session whose cookie came with the request, and only if sid names it: a third party must not log out others.
        if (current is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(current.Sid), Encoding.UTF8.GetBytes(sid)))
            await browser.EndAsync(http, ct);
        return AuthPages.SignedOut();
    }
}
