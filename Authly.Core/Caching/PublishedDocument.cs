using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;

namespace Authly.Caching;

/// <summary>
/// A public JSON document (discovery metadata, the JWKS) serialized once per version: the bytes
/// every request is answered with, their strong entity tag (RFC 9110 §8.8.3: a hash of exactly
/// those bytes, so equal documents on every node and after every reload carry the same tag) and
/// how long a cache may keep them (<c>Cache-Control: public, max-age</c>, RFC 9111 §5.2.2.1).
/// Built by the owner of the data when the data changes, never per request.
/// </summary>
public sealed class PublishedDocument
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>UTF-8 JSON, as <c>Results.Json</c> wrote it before (web defaults).</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>The quoted strong entity tag, e.g. <c>"q3Jx…"</c>: 128 bits of the body's SHA-256, base64url.</summary>
    public string ETag { get; }

    public TimeSpan MaxAge { get; }

    private PublishedDocument(byte[] body, TimeSpan maxAge)
    {
        Body = body;
        ETag = "\"" + Base64Url.EncodeToString(SHA256.HashData(body).AsSpan(0, 16)) + "\"";
        MaxAge = maxAge;
    }

    public static PublishedDocument Of<T>(T value, TimeSpan maxAge) => new(JsonSerializer.SerializeToUtf8Bytes(value, Json), maxAge);
}
