using System.Security.Cryptography;
using System.Text;

namespace Authly.Security;

/// <summary>
/// AES-256-GCM under a key derived (HKDF-SHA256) from a configured secret, for data that must
/// be readable by every node but never stored in clear, such as signing keys' private parts.
/// Layout: nonce(12) | tag(16) | ciphertext. The purpose string is bound as associated data.
/// </summary>
public sealed class SecretBox
{
    private readonly byte[] _key;

    public SecretBox(string secret, string purpose)
    {
        _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret), 32,
            salt: Encoding.UTF8.GetBytes("authly-secretbox-v1"), info: Encoding.UTF8.GetBytes(purpose));
    }

    public byte[] Seal(ReadOnlySpan<byte> plaintext, string associatedData)
    {
        var output = new byte[12 + 16 + plaintext.Length];
        var nonce = output.AsSpan(0, 12);
        RandomNumberGenerator.Fill(nonce);
        using var gcm = new AesGcm(_key, 16);
        gcm.Encrypt(nonce, plaintext, output.AsSpan(28), output.AsSpan(12, 16), Encoding.UTF8.GetBytes(associatedData));
        return output;
    }

    /// <exception cref="CryptographicException">wrong key, tampered data or other associated data</exception>
    public byte[] Open(ReadOnlySpan<byte> sealedData, string associatedData)
    {
        if (sealedData.Length < 28) throw new CryptographicException("sealed data is too short");
        var plaintext = new byte[sealedData.Length - 28];
        using var gcm = new AesGcm(_key, 16);
        gcm.Decrypt(sealedData[..12], sealedData[28..], sealedData.Slice(12, 16), plaintext, Encoding.UTF8.GetBytes(associatedData));
        return plaintext;
    }
}
