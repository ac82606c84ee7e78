using System.Security.Cryptography;
using System.Text;
using Authly.Configuration;

namespace Authly.Security;

/// <summary>Argon2id password hashes in PHC string form ($argon2id$v=19$m=…,t=…,p=1$…), via libsodium.</summary>
public sealed class PasswordHasher
{
    private readonly ulong _opsLimit;
    private readonly nuint _memLimit;

    // A hash of a random password, verified when the user does not exist, so an unknown
    // username costs the same time as a wrong password and timing does not reveal accounts.
    private readonly Lazy<string> _dummyHash;

    public PasswordHasher(AuthlyOptions options)
    {
        Sodium.EnsureInitialised();
        _opsLimit = (ulong)options.Argon2OpsLimit;
        _memLimit = (nuint)options.Argon2MemLimitKiB * 1024;
        _dummyHash = new Lazy<string>(() => Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))));
    }

    public string Hash(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var pwd = Encoding.UTF8.GetBytes(password);
        var output = new byte[Sodium.PwhashStrBytes];
        try
        {
            if (Sodium.PwhashStrAlg(output, pwd, (ulong)pwd.Length, _opsLimit, _memLimit, Sodium.AlgArgon2Id13) != 0)
                throw new InvalidOperationException("crypto_pwhash_str_alg failed (out of memory?)");
            var end = Array.IndexOf(output, (byte)0);
            return Encoding.ASCII.GetString(output, 0, end < 0 ? output.Length : end);
        }
        finally { CryptographicOperations.ZeroMemory(pwd); }
    }

    public bool Verify(string password, string? phcHash)
    {
        if (phcHash is null || !phcHash.StartsWith("$argon2", StringComparison.Ordinal))
        {
            // Burn the same time as a real check.
            VerifyCore(password, _dummyHash.Value);
            return false;
        }
        return VerifyCore(password, phcHash);
    }

    /// <summary>Spends one verification's worth of time, for code paths with no user to check.</summary>
    public void VerifyDummy(string password) => VerifyCore(password, _dummyHash.Value);

    private static bool VerifyCore(string password, string phcHash)
    {
        var pwd = Encoding.UTF8.GetBytes(password);
        var hash = new byte[Encoding.ASCII.GetByteCount(phcHash) + 1];
        Encoding.ASCII.GetBytes(phcHash, hash);
        try { return Sodium.PwhashStrVerify(hash, pwd, (ulong)pwd.Length) == 0; }
        finally { CryptographicOperations.ZeroMemory(pwd); }
    }
}
