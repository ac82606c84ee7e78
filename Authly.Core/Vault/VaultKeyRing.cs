using System.Security.Cryptography;
using System.Text;
using Authly.Configuration;

namespace Authly.Vault;

/// <summary>
/// The vault's key-encryption keys: the current one (AUTHLY_VAULT_ENCRYPTION_KEY) wraps new data
/// keys; previous ones (AUTHLY_VAULT_PREVIOUS_KEYS) still unwrap rows written before a rotation.
/// A key is known by its id, a fingerprint that reveals nothing about it.
/// </summary>
public sealed class VaultKeyRing
{
    public sealed record Key(string Id, byte[] Kek);

    private readonly Dictionary<string, Key> _byId;

    /// <summary>The key new rows are wrapped with; null when the vault is not configured.</summary>
    public Key? Current { get; }
    public IReadOnlyCollection<Key> All => _byId.Values;
    /// <summary>Why the vault is off (no key outside embedded/testing mode), or null when it is on.</summary>
    public string? DisabledReason { get; }
    /// <summary>How the current key was obtained, for the startup log: "configured" or "derived for testing".</summary>
    public string Source { get; }

    private VaultKeyRing(Key? current, IEnumerable<Key> previous, string? disabledReason, string source)
    {
        Current = current;
        DisabledReason = disabledReason;
        Source = source;
        _byId = new Dictionary<string, Key>(StringComparer.Ordinal);
        if (current is not null) _byId[current.Id] = current;
        foreach (var k in previous) _byId.TryAdd(k.Id, k);
    }

    public bool IsEnabled => Current is not null;

    public Key? Find(string keyId) => _byId.GetValueOrDefault(keyId);

    public static bool IsValidHexKey(string s) => s.Length == 64 && s.All(Uri.IsHexDigit);

    /// <summary>
    /// The ring for these options. Testing mode without a key derives one from JWT_SECRET_KEY, so
    /// every node of a test cluster agrees; embedded mode gets its key from the data directory
    /// (<see cref="LoadOrCreateKeyFile"/>, done by `authly serve --embedded`); anywhere else the
    /// vault stays off until a key is configured.
    /// </summary>
    public static VaultKeyRing Create(AuthlyOptions options)
    {
        var previous = options.VaultPreviousKeys.Select(FromHex).ToList();
        if (options.VaultEncryptionKey is { } hex) return new VaultKeyRing(FromHex(hex), previous, null, "configured");
        if (options.Mode == AuthlyMode.Testing)
        {
            var derived = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(options.JwtSecretKey), 32,
                salt: Encoding.UTF8.GetBytes("authly-vault-testing-key-v1"), info: []);
            return new VaultKeyRing(FromBytes(derived), previous, null, "derived from JWT_SECRET_KEY (testing mode)");
        }
        return new VaultKeyRing(null, previous,
            "AUTHLY_VAULT_ENCRYPTION_KEY is not set, so the token vault is off. Set it to 64 hex characters " +
            "(e.g. 'openssl rand -hex 32'); 'authly serve --embedded' keeps one in <data-dir>/authly/vault.key.", "none");
    }

    /// <summary>A ring from explicit hex keys (the CLI's rotate-key reads them from the environment).</summary>
    public static VaultKeyRing FromHexKeys(string current, IEnumerable<string> previous) =>
        new(FromHex(current), previous.Select(FromHex), null, "configured");

    /// <summary>The embedded server's vault key: &lt;secretsDir&gt;/vault.key, generated once (0600) and kept.</summary>
    public static string LoadOrCreateKeyFile(string secretsDir)
    {
        var path = Path.Combine(secretsDir, "vault.key");
        if (!File.Exists(path))
        {
            var hex = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            using (var stream = new FileStream(path, new FileStreamOptions
                   {
                       Mode = FileMode.CreateNew, Access = FileAccess.Write,
                       UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                   }))
            using (var writer = new StreamWriter(stream)) writer.Write(hex);
        }
        var key = File.ReadAllText(path).Trim();
        if (!IsValidHexKey(key)) throw new InvalidOperationException($"{path} does not hold a 64-hex-character vault key; restore it from a backup.");
        return key;
    }

    private static Key FromHex(string hex)
    {
        if (!IsValidHexKey(hex)) throw new ArgumentException("a vault key is 64 hexadecimal characters");
        return FromBytes(Convert.FromHexString(hex));
    }

    private static Key FromBytes(byte[] master)
    {
        // The configured key is never used directly: one HKDF output wraps data keys, another names the key.
        var kek = HKDF.DeriveKey(HashAlgorithmName.SHA256, master, 32, salt: Encoding.UTF8.GetBytes("authly-vault-v1"), info: Encoding.UTF8.GetBytes("kek"));
        var id = HKDF.DeriveKey(HashAlgorithmName.SHA256, master, 8, salt: Encoding.UTF8.GetBytes("authly-vault-v1"), info: Encoding.UTF8.GetBytes("key-id"));
        CryptographicOperations.ZeroMemory(master);
        return new Key("vk_" + Convert.ToHexStringLower(id), kek);
    }
}
