using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Authly.Configuration;
using Authly.Security;

namespace Authly.Server.Http;

/// <summary>
/// CSRF protection for every form: a random value in an HttpOnly, SameSite=Strict cookie and, in
/// the form, an HMAC of it under a server key. An attacker who can plant a cookie still cannot
/// produce the matching form token without the key.
/// </summary>
public sealed class Csrf(AuthlyOptions options)
{
    public const string CookieName = "authly_csrf";
    public const string FieldName = "csrf_token";
    private readonly byte[] _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(options.JwtSecretKey), 32,
        info: Encoding.UTF8.GetBytes("authly-csrf"));

    public string TokenFor(HttpContext http)
    {
        var cookie = http.Request.Cookies[CookieName];
        if (cookie is not { Length: >= 20 and <= 100 })
        {
            cookie = OpaqueToken.New(24);
            http.Response.Cookies.Append(CookieName, cookie, new CookieOptions
            {
                HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps, Path = "/", IsEssential = true,
            });
            http.Items[CookieName] = cookie;
        }
        return Sign(cookie);
    }

    public bool IsValid(HttpContext http, string? formToken)
    {
        var cookie = http.Request.Cookies[CookieName];
        if (cookie is null || formToken is null) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(cookie)), Encoding.ASCII.GetBytes(formToken));
    }

    private string Sign(string value) => Base64Url.EncodeToString(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(value)));
}
