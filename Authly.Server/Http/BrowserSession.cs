using Authly.Sessions;
using Authly.Tokens;
using Authly.Users;

namespace Authly.Server.Http;

/// <summary>
/// Who is signed in on this browser: the session cookie (HttpOnly, SameSite=Lax, Secure when the
/// issuer is https) or, as the older server allowed, a bearer access token of the user.
/// </summary>
public sealed class BrowserSession(SessionStore sessions, UserStore users, TokenIntrospection introspection, Issuer issuer)
{
    public const string CookieName = "authly_session";

    public sealed record Current(User User, DateTime AuthTime, string? Sid);

    public async Task<Current?> GetAsync(HttpContext http, CancellationToken ct)
    {
        var session = await sessions.FindActiveAsync(http.Request.Cookies[CookieName], ct);
        if (session is not null)
        {
            var user = await users.FindByIdAsync(session.UserId, ct);
            if (user is { IsActive: true }) return new Current(user, DateTime.SpecifyKind(session.AuthTime, DateTimeKind.Utc), session.Sid);
        }
        if (BasicCredentials.Bearer(http.Request) is { } bearer && await introspection.ValidateAccessTokenAsync(bearer, ct) is { UserId: { } id } claims)
        {
            var user = await users.FindByIdAsync(id, ct);
            if (user is { IsActive: true }) return new Current(user, DateTimeOffset.FromUnixTimeSeconds(claims.IssuedAt).UtcDateTime, null);
        }
        return null;
    }

    public async Task<Session> StartAsync(HttpContext http, User user, CancellationToken ct)
    {
        var (secret, session) = await sessions.CreateAsync(user.Id, http.Connection.RemoteIpAddress?.ToString(), http.Request.Headers.UserAgent, ct);
        http.Response.Cookies.Append(CookieName, secret, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Lax,
            Secure = issuer.Value.StartsWith("https://", StringComparison.Ordinal),
            Path = "/",
            IsEssential = true,
            MaxAge = SessionStore.AbsoluteLifetime,
        });
        return session;
    }

    public async Task<Session?> EndAsync(HttpContext http, CancellationToken ct)
    {
        var ended = await sessions.EndAsync(http.Request.Cookies[CookieName], ct);
        http.Response.Cookies.Delete(CookieName, new CookieOptions { Path = "/" });
        return ended;
    }
}
