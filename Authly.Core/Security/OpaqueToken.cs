using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Authly.Security;

/// <summary>
/// Random bearer secrets (refresh tokens, client secrets, codes) and their at-rest form.
/// They carry 256 bits of entropy, so a fast SHA-256 is the right at-rest hash: a slow
/// password hash would buy nothing against guessing and would cap the token endpoint.
/// </summary>
public static class OpaqueToken
{
    public static string New(int bytes = 32) => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(bytes));

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>Constant-time check of a presented secret against a stored hash.</summary>
    public static bool Matches(string presented, byte[]? storedHash) =>
        storedHash is { Length: 32 } && CryptographicOperations.FixedTimeEquals(Hash(presented), storedHash);
}
