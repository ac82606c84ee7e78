using System.Text;

namespace Authly.Server.Http;

/// <summary>Adds parameters to a registered redirect URI, with '&amp;' when it already has a query (RFC 6749 §3.1.2).</summary>
public static class RedirectUri
{
    public static string With(string uri, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var sb = new StringBuilder(uri);
        var separator = uri.Contains('?') ? (uri.EndsWith('?') || uri.EndsWith('&') ? "" : "&") : "?";
        foreach (var (k, v) in parameters)
        {
            sb.Append(separator).Append(Uri.EscapeDataString(k)).Append('=').Append(Uri.EscapeDataString(v));
            separator = "&";
        }
        return sb.ToString();
    }

    /// <summary>A return path after login: only our own authorize, device, vault-connect, passkey and second-factor account pages, never another site.</summary>
    public static string SafeReturnTo(string? returnTo) =>
        returnTo is not null && !returnTo.StartsWith("//", StringComparison.Ordinal) && !returnTo.Contains('\\') &&
        (returnTo.StartsWith("/api/v1/oauth/authorize?", StringComparison.Ordinal) || returnTo == "/device" || returnTo == "/account/passkeys" || returnTo == "/account/mfa" ||
         returnTo.StartsWith("/device?", StringComparison.Ordinal) || returnTo.StartsWith("/api/v1/vault/connect/", StringComparison.Ordinal))
            ? returnTo
            : "/";
}
