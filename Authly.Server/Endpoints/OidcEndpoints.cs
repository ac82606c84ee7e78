using System.Buffers.Text;
using System.Security.Cryptography;
using Authly.Authorization;
using System.Text;
using Authly.Clients;
using Authly.OAuth;
using Authly.OAuth.Dpop;
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

        app.MapGet("/oidc/logout", LogoutAsync).WithPageErrors().WithTags("oidc").WithSummary("RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)");
        app.MapPost("/oidc/logout", LogoutAsync).WithPageErrors().WithTags("oidc").DisableAntiforgery().ExcludeFromDescription();
        app.MapGet("/oidc/session/check", SessionCheckAsync).WithTags("oidc").WithSummary("Whether this browser has a live session");
        app.MapGet("/oidc/session/iframe", SessionIframe).WithTags("oidc").WithSummary("OIDC Session Management check_session_iframe");
        app.MapGet("/oidc/frontchannel/logout", FrontChannelLogoutAsync).WithPageErrors().WithTags("oidc").WithSummary("Front-channel logout (ends the session named by sid)");
    }

    /// <summary>
    /// RFC 6750 §2.1 bearer token, or RFC 9449 §7.1 DPoP token with its proof → a user token with the openid scope, or the
    /// matching error (<see cref="ResourceTokenAccess"/> decides).
    /// </summary>
    private static async Task<(AccessTokenClaims Claims, User User)> CallerAsync(HttpRequest request, ResourceTokenAccess access, Issuer issuer,
        UserStore users, CancellationToken ct)
    {
        var presented = BasicCredentials.AccessToken(request, issuer.Value);
        if (presented is null)
        {
            // RFC 6750 §3.1: no credentials → 401 with a bare challenge.
            request.HttpContext.Response.Headers.WWWAuthenticate = BearerChallenge.Header();
            throw OAuthException.InvalidToken("An access token is required");
        }
        var claims = await access.AuthenticateAsync(presented, ct);
        if (claims.UserId is not { } id) throw OAuthException.InsufficientScope("The token does not represent a user");
        if (!claims.Scopes.Contains(OidcScopes.OpenId)) throw OAuthException.InsufficientScope("The openid scope is required");
        var user = await users.FindByIdAsync(id, ct);
        if (user is not { IsActive: true }) throw OAuthException.InvalidToken("The user is not active");
        return (claims, user);
    }

    private static async Task<IResult> UserInfoAsync(HttpRequest request, ResourceTokenAccess access, Issuer issuer, UserStore users, CancellationToken ct)
    {
        var (claims, user) = await CallerAsync(request, access, issuer, users, ct);
        return Results.Json(UserClaims.For(user, claims.Scopes));
    }

    private static async Task<IResult> UpdateUserInfoAsync(HttpRequest request, ResourceTokenAccess access, Issuer issuer, UserStore users,
        UserAccounts accounts, CancellationToken ct)
    {
        var (claims, user) = await CallerAsync(request, access, issuer, users, ct);
        // A body that does not read, or a claim that does not validate, is invalid_request (OAuthErrorFilter).
        var input = await JsonBody.ReadAsync<UserProfile>(request, ct);
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
        var updated = await accounts.UpdateAsync(user.Id, profile, ct) ?? user;
        return Results.Json(UserClaims.For(updated, claims.Scopes));
    }

    /// <summary>RP-initiated logout: <see cref="LogoutFlow"/> decides; this renders it and ends the session when told to.</summary>
    private static async Task<IResult> LogoutAsync(HttpContext http, LogoutFlow logout, BrowserSession browser, Csrf csrf, CancellationToken ct)
    {
        var p = await AuthorizeEndpoint.ReadParametersAsync(http.Request, ct);
        var confirmed = HttpMethods.IsPost(http.Request.Method) && csrf.IsValid(http, p.GetValueOrDefault(Csrf.FieldName));
        var decision = await logout.DecideAsync(p, async c => await browser.GetAsync(http, c) is { } s ? new(s.User.Id, s.Sid) : null, confirmed, ct);
        if (decision.PostLogoutRedirectUri is { } redirect) SecurityHeaders.AllowFormRedirectTo(http.Response, redirect);
        return await SignOutAsync(http, browser, csrf, decision, ct);
    }

    private static async Task<IResult> SignOutAsync(HttpContext http, BrowserSession browser, Csrf csrf, LogoutFlow.Decision decision, CancellationToken ct)
    {
        switch (decision)
        {
            case LogoutFlow.Refused r: return Html.Error("Sign-out failed", r.Message);
            case LogoutFlow.Ask a: return AuthPages.LogoutConfirm(csrf.TokenFor(http), a.Fields);
            case LogoutFlow.SignOut s:
                if (s.EndSession) await browser.EndAsync(http, ct);
                if (s.PostLogoutRedirectUri is null) return AuthPages.SignedOut();
                return Results.Redirect(RedirectUri.With(s.PostLogoutRedirectUri, s.State is null ? [] : [new("state", s.State)]));
            default: throw new InvalidOperationException($"Unknown logout decision {decision.GetType().Name}");
        }
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
            auth_time = new DateTimeOffset(session.AuthTime).ToUnixTimeSeconds(),
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

    private static async Task<IResult> FrontChannelLogoutAsync(HttpContext http, BrowserSession browser, Csrf csrf, Issuer issuer,
        string? iss, string? sid, CancellationToken ct)
    {
        OAuthErrorFilter.NoStore(http.Response);
        http.Response.Headers.XFrameOptions = default;
        http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'self'";
        var decision = await LogoutFlow.FrontChannelAsync(iss, sid, issuer.Value, async c => (await browser.GetAsync(http, c))?.Sid, ct);
        return await SignOutAsync(http, browser, csrf, decision, ct);
    }
}
