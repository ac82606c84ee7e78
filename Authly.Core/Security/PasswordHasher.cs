using System.Security.Cryptography;
using System.Text;
using Authly.Configuration;
using Geralt;

namespace Authly.Security;

/// <summary>
/// Argon2id password hashes in PHC string form ($argon2id$v=19$m=…,t=…,p=1$…): libsodium's
/// crypto_pwhash_str / crypto_pwhash_str_verify through Geralt, whose NuGet package ships libsodium
/// (no system package). The strings are byte for byte what the earlier P/Invoke to Debian's
/// libsodium23 made, so hashes stored before verify unchanged and the other way round.
/// Verification compares in constant time (libsodium's sodium_memcmp).
/// </summary>
public sealed class PasswordHasher
{
    private const string Prefix = "$argon2id$";
    // The shortest string libsodium can parse ($argon2id$v=19$m=8,t=1,p=1$<salt>$<tag>) and the
    // buffer it writes into; Geralt throws outside this range, so anything else is refused here.
    private const int MinEncodedLength = 45;

    // At most one Argon2id computation per core at a time (issue 14's password target). Each one walks
    // Argon2MemLimitKiB of memory (19 MiB by default); sixteen concurrent logins on two cores time-slice and
    // evict each other's blocks from the CPU caches, so every hash costs more CPU than it does alone. A login
    // beyond the cores waits here instead, which it would have done for a core anyway. Process-wide: several
    // servers in one process share the same cores.
    private static readonly SemaphoreSlim Cores = new(Environment.ProcessorCount, Environment.ProcessorCount);

    private readonly int _iterations;
    private readonly int _memoryBytes;

    // A hash of a random password, verified when the user does not exist, so an unknown
    // username costs the same time as a wrong password and timing does not reveal accounts.
    private readonly Lazy<string> _dummyHash;

    public PasswordHasher(AuthlyOptions options)
    {
        _iterations = options.Argon2OpsLimit;
        _memoryBytes = checked(options.Argon2MemLimitKiB * 1024);
        _dummyHash = new Lazy<string>(() => Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))));
    }

    public string Hash(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var pwd = Encoding.UTF8.GetBytes(password);
        Span<char> output = stackalloc char[Argon2id.HashSize];
        try
        {
            // Throws CryptographicException when libsodium fails (out of memory).
            Cores.Wait();
            try { Argon2id.ComputeHash(output, pwd, _iterations, _memoryBytes); }
            finally { Cores.Release(); }
            return new string(output.TrimEnd('\0'));
        }
        finally { CryptographicOperations.ZeroMemory(pwd); }
    }

    public bool Verify(string password, string? phcHash)
    {
        if (!IsArgon2idString(phcHash))
        {
            // Burn the same time as a real check.
            VerifyCore(password, _dummyHash.Value);
            return false;
        }
        return VerifyCore(password, phcHash);
    }

    /// <summary>Spends one verification's worth of time, for code paths with no user to check.</summary>
    public void VerifyDummy(string password) => VerifyCore(password, _dummyHash.Value);

    // Only what this class writes: an ASCII $argon2id$ string of a length libsodium accepts. A stored
    // value of any other shape (empty, bcrypt, truncated) is a failed login, not an exception.
    private static bool IsArgon2idString([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? s) =>
        s is { Length: >= MinEncodedLength and <= Argon2id.HashSize }
        && s.StartsWith(Prefix, StringComparison.Ordinal)
        && Ascii.IsValid(s) && !s.Contains('\0', StringComparison.Ordinal);

    private static bool VerifyCore(string password, string phcHash)
    {
        var pwd = Encoding.UTF8.GetBytes(password);
        Cores.Wait();
        try { return Argon2id.VerifyHash(phcHash, pwd); }
        finally { Cores.Release(); CryptographicOperations.ZeroMemory(pwd); }
    }
}
