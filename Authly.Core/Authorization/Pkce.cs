using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Authly.Authorization;

/// <summary>RFC 7636 with S256 only (OAuth 2.1 §4.1.1: plain is not offered).</summary>
public static class Pkce
{
    public const string S256 = "S256";

    /// <summary>RFC 7636 §4.1: 43–128 characters of [A-Z a-z 0-9 - . _ ~]. Challenges have the same shape.</summary>
    public static bool IsWellFormed(string? value) =>
        value is { Length: >= 43 and <= 128 } && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~');

    public static string Challenge(string verifier) => Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    /// <summary>RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge, compared in constant time.</summary>
    public static bool Verify(string? verifier, string challenge) =>
        IsWellFormed(verifier) &&
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Challenge(verifier!)), Encoding.ASCII.GetBytes(challenge));
}
