using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Authly.Configuration;
using Authly.Security;

namespace Authly.Server.Http;

/// <summary>
/// CSRF protection for every form (RFC 6749 §10.12, RFC 9700 §4.7). The browser holds a random value
/// in an HttpOnly, SameSite=Strict cookie; the form carries an HMAC, under a server key, of that
/// value bound to the browser's login session (the hash of its session cookie) when there is one.
/// So a pair (cookie, token) is good in one browser and one session only: a pair fetched elsewhere,
/// or before this browser's login, is refused even where an attacker can plant the cookie, because
/// the token also depends on the session secret the attacker does not have. The pre-login value is
/// replaced whenever a session starts or ends (<see cref="Rotate"/>), so a pre-login pair is not
/// valid again after a logout either.
/// </summary>
public sealed class Csrf(AuthlyOptions options)
{
    public const string CookieName = "authly_csrf";
    public const string FieldName = "csrf_token";
    private readonly byte[] _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(options.JwtSecretKey), 32,
        info: Encoding.UTF8.GetBytes("authly-csrf"));

    /// <summary>The form token for this browser and its session; issues the cookie when the browser has none.</summary>
    public string TokenFor(HttpContext http) => Sign(CookieOf(http) ?? Issue(http), BrowserSession.CookieOf(http));

    public bool IsValid(HttpContext http, string? formToken)
    {
        var cookie = CookieOf(http);
        if (cookie is null || formToken is null) return false;
        // Constant time: the comparison must not tell an attacker how much of a guessed token is right.
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(cookie, BrowserSession.CookieOf(http))), Encoding.ASCII.GetBytes(formToken));
    }

    /// <summary>A new cookie value: called when a session starts or ends, so no pair from before stays valid.</summary>
    public void Rotate(HttpContext http) => Issue(http);

    /// <summary>The value this request carries, or the one this response has just set (a later form on the same response must use it).</summary>
    private static string? CookieOf(HttpContext http)
    {
        if (http.Items.TryGetValue(CookieName, out var issued)) return (string)issued!;
        return http.Request.Cookies[CookieName] is { Length: >= 20 and <= 100 } cookie ? cookie : null;
    }

    private static string Issue(HttpContext http)
    {
        var cookie = OpaqueToken.New(24);
        http.Response.Cookies.Append(CookieName, cookie, new CookieOptions
        {
            HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps, Path = "/", IsEssential = true,
        });
        http.Items[CookieName] = cookie;
        return cookie;
    }

    /// <summary>HMAC(key, [0|1] ‖ SHA-256(session secret)? ‖ cookie): a fixed layout, so no two bindings share an input.</summary>
    private string Sign(string cookie, string? sessionSecret)
    {
        var value = Encoding.UTF8.GetBytes(cookie);
        byte[] message;
        if (sessionSecret is null) message = [0, .. value];
        else message = [1, .. OpaqueToken.Hash(sessionSecret), .. value];
        return Base64Url.EncodeToString(HMACSHA256.HashData(_key, message));
    }
}
