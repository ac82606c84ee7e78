using Authly.Authorization;
using Authly.Mfa;
using Authly.Sessions;
using Authly.Tokens;
using Authly.Users;

namespace Authly.Server.Http;

/// <summary>
/// Who is signed in on this browser: the session cookie (HttpOnly, SameSite=Lax, Secure when the
/// issuer is https), and nothing else. An access token is never a browser session: tokens are
/// issued to clients, for resource servers, with the scopes the user granted that client; taken as
/// a session they would let any client open the user's consent pages, approve devices, connect
/// vault providers and change the password (issue #11 finding 1, RFC 9700 §4.10).
/// </summary>
public sealed class BrowserSession(SessionStore sessions, UserStore users, Csrf csrf, Issuer issuer)
{
    public const string CookieName = "authly_session";
    private static readonly object SetInThisResponse = new();

    public sealed record Current(User User, DateTime AuthTime, string Sid, IReadOnlyList<string> Amr)
    {
        public AuthorizeFlow.SignedIn SignedIn => new(User, AuthTime, Sid, Amr);
    }

    /// <summary>
    /// The session cookie this request carries or, once <see cref="StartAsync"/> or <see cref="EndAsync"/>
    /// ran for it, what the response set (null after a logout). <see cref="Csrf"/> binds form tokens to it.
    /// </summary>
    public static string? CookieOf(HttpContext http)
    {
        if (http.Items.TryGetValue(SetInThisResponse, out var set)) return set as string;
        return http.Request.Cookies[CookieName] is { Length: > 0 and <= 100 } cookie ? cookie : null;
    }

    public async Task<Current?> GetAsync(HttpContext http, CancellationToken ct)
    {
        var session = await sessions.FindActiveAsync(CookieOf(http), ct);
        if (session is null) return null;
        var user = await users.FindByIdAsync(session.UserId, ct);
        return user is { IsActive: true } ? new Current(user, session.AuthTime, session.Sid, session.Amr) : null;
    }

    /// <summary>Starts a password-only session (see the overload).</summary>
    public Task<Session> StartAsync(HttpContext http, User user, CancellationToken ct) => StartAsync(http, user, AuthenticationMethods.AfterPassword, ct);

    /// <summary>
    /// Starts a session authenticated by <paramref name="amr"/> with a fresh secret (never a planted one) and a fresh CSRF
    /// cookie: pre-login form tokens stop working. A pending second-factor login of this browser ends with it.
    /// </summary>
    public async Task<Session> StartAsync(HttpContext http, User user, IReadOnlyList<string> amr, CancellationToken ct)
    {
        var (secret, session) = await sessions.CreateAsync(user.Id, amr, http.Connection.RemoteIpAddress?.ToString(), http.Request.Headers.UserAgent, ct);
        PendingLoginCookie.Clear(http);
        http.Response.Cookies.Append(CookieName, secret, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Lax,
            Secure = issuer.Value.StartsWith("https://", StringComparison.Ordinal),
            Path = "/",
            IsEssential = true,
            MaxAge = SessionStore.AbsoluteLifetime,
        });
        http.Items[SetInThisResponse] = secret;
        csrf.Rotate(http);
        return session;
    }

    /// <summary>Ends the session whose cookie this request carries (only that one), removes the cookie and rotates the CSRF cookie.</summary>
    public async Task<Session?> EndAsync(HttpContext http, CancellationToken ct)
    {
        var ended = await sessions.EndAsync(CookieOf(http), ct);
        http.Response.Cookies.Delete(CookieName, new CookieOptions { Path = "/" });
        http.Items[SetInThisResponse] = null;
        csrf.Rotate(http);
        return ended;
    }
}
