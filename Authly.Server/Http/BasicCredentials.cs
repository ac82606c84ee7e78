using System.Text;
using Authly.OAuth;

namespace Authly.Server.Http;

/// <summary>RFC 6749 §2.3.1: HTTP Basic with client id and secret each form-url-encoded before base64.</summary>
public static class BasicCredentials
{
    /// <summary>Refuses bytes that are not UTF-8 instead of turning them into U+FFFD, which made different credentials read alike.</summary>
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static ClientCredentials? Parse(HttpRequest request)
    {
        string? header = request.Headers.Authorization;
        if (header is null || !header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return null;
        try
        {
            var decoded = StrictUtf8.GetString(Convert.FromBase64String(header[6..].Trim()));
            var colon = decoded.IndexOf(':');
            if (colon <= 0) throw OAuthException.InvalidClient("Basic credentials without client id");
            return new ClientCredentials(Uri.UnescapeDataString(decoded[..colon].Replace('+', ' ')),
                                         Uri.UnescapeDataString(decoded[(colon + 1)..].Replace('+', ' ')));
        }
        catch (FormatException) { throw OAuthException.InvalidClient("Basic credentials are not base64"); }
        catch (DecoderFallbackException) { throw OAuthException.InvalidClient("Basic credentials are not UTF-8"); }
    }

    /// <summary>
    /// The access token of an <c>Authorization: Bearer</c> (RFC 6750 §2.1) or <c>Authorization: DPoP</c> (RFC 9449 §7.1)
    /// header with the request's DPoP proofs, method and URL as the public issuer names it; null without either scheme.
    /// </summary>
    public static OAuth.Dpop.PresentedToken? AccessToken(HttpRequest request, string issuer)
    {
        string? header = request.Headers.Authorization;
        if (header is null) return null;
        string scheme;
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) scheme = OAuth.Dpop.PresentedToken.BearerScheme;
        else if (header.StartsWith("DPoP ", StringComparison.OrdinalIgnoreCase)) scheme = OAuth.Dpop.PresentedToken.DpopScheme;
        else return null;
        var token = header[(scheme.Length + 1)..].Trim();
        if (token.Length == 0) return null;
        return new OAuth.Dpop.PresentedToken(scheme, token, DpopProofs(request), request.Method, issuer + request.Path);
    }

    /// <summary>Every DPoP header of the request, as sent (RFC 9449 §4.3 check 1 counts them).</summary>
    public static IReadOnlyList<string> DpopProofs(HttpRequest request) =>
        request.Headers[OAuth.Dpop.DpopProofValidator.HeaderName].Select(v => v ?? "").ToArray();

    public static string? Bearer(HttpRequest request)
    {
        string? header = request.Headers.Authorization;
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return null;
        var token = header[7..].Trim();
        return token.Length > 0 ? token : null;
    }
}
