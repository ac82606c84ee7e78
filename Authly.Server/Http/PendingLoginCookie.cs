using Authly.Mfa;

namespace Authly.Server.Http;

/// <summary>
/// The browser's handle on a pending second-factor login (<see cref="SecondFactorStep"/>): its own
/// HttpOnly, SameSite=Strict cookie on /login only, living as long as the pending login. It is never
/// a session: only the second-factor and enrolment steps read it, and starting a session clears it.
/// </summary>
public static class PendingLoginCookie
{
    public const string Name = "authly_mfa_pending";
    private const string Path = "/login";
    private static readonly object SetInThisResponse = new();

    public static string? Of(HttpContext http)
    {
        if (http.Items.TryGetValue(SetInThisResponse, out var set)) return set as string;
        return http.Request.Cookies[Name] is { Length: > 0 and <= 100 } cookie ? cookie : null;
    }

    public static void Set(HttpContext http, string secret)
    {
        http.Response.Cookies.Append(Name, secret, new CookieOptions
        {
            HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps, Path = Path, IsEssential = true,
            MaxAge = PendingLoginStore.Lifetime,
        });
        http.Items[SetInThisResponse] = secret;
    }

    public static void Clear(HttpContext http)
    {
        if (Of(http) is null) return;
        http.Response.Cookies.Delete(Name, new CookieOptions { Path = Path });
        http.Items[SetInThisResponse] = null;
    }
}
