using System.Runtime.InteropServices;

namespace Authly.Security;

/// <summary>The few libsodium calls Authly needs (Debian package libsodium23).</summary>
internal static partial class Sodium
{
    private const string Library = "libsodium.so.23";
    public const int PwhashStrBytes = 128;
    public const int AlgArgon2Id13 = 2;

    [LibraryImport(Library, EntryPoint = "sodium_init")]
    private static partial int SodiumInit();

    [LibraryImport(Library, EntryPoint = "crypto_pwhash_str_alg")]
    public static partial int PwhashStrAlg(byte[] output, byte[] password, ulong passwordLength, ulong opsLimit, nuint memLimit, int alg);

    [LibraryImport(Library, EntryPoint = "crypto_pwhash_str_verify")]
    public static partial int PwhashStrVerify(byte[] hash, byte[] password, ulong passwordLength);

    private static readonly Lazy<bool> Initialised = new(() =>
    {
        try
        {
            // 0 = initialised now, 1 = already initialised; -1 = failure.
            if (SodiumInit() < 0) throw new InvalidOperationException("sodium_init() failed");
            return true;
        }
        catch (DllNotFoundException e)
        {
            throw new InvalidOperationException(
                "libsodium is not installed. Install it with 'apt-get install libsodium23' (Debian/Ubuntu).", e);
        }
    });

    public static void EnsureInitialised() => _ = Initialised.Value;
}
