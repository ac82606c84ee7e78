using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Authly.Configuration;

namespace Authly.OAuth.Dpop;

/// <summary>
/// RFC 9449 §8/§9 server nonces, on with AUTHLY_DPOP_NONCE. Stateless, so every node accepts every node's nonce: a nonce is
/// a time slot and an HMAC of it under a key derived from JWT_SECRET_KEY; one is good in its slot and the next
/// (one to two acceptance windows).
/// </summary>
public sealed class DpopNonces(AuthlyOptions options, TimeProvider clock)
{
    private readonly byte[] _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(options.JwtSecretKey), 32,
        info: Encoding.UTF8.GetBytes("authly-dpop-nonce-v1"));

    public bool Required => options.DpopNonce;

    private long Slot => clock.GetUtcNow().ToUnixTimeSeconds() / options.DpopIatWindowSeconds;

    public string Current() => For(Slot);

    public bool IsValid(string? nonce)
    {
        if (nonce is null || nonce.Length > 64) return false;
        Span<byte> raw = stackalloc byte[48];
        if (!Base64Url.TryDecodeFromChars(nonce, raw, out var n) || n != 24) return false;
        var slot = BinaryPrimitives.ReadInt64BigEndian(raw);
        var now = Slot;
        if (slot != now && slot != now - 1) return false;
        return CryptographicOperations.FixedTimeEquals(raw[8..24], Mac(slot));
    }

    private string For(long slot)
    {
        var raw = new byte[24];
        BinaryPrimitives.WriteInt64BigEndian(raw, slot);
        Mac(slot).CopyTo(raw.AsSpan(8));
        return Base64Url.EncodeToString(raw);
    }

    private byte[] Mac(long slot)
    {
        Span<byte> s = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(s, slot);
        return HMACSHA256.HashData(_key, s)[..16];
    }
}
