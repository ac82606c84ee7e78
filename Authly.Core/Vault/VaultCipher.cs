using System.Security.Cryptography;
using System.Text;

namespace Authly.Vault;

/// <summary>
/// Envelope encryption for vault rows. Each row gets its own random 256-bit data key; secrets are
/// sealed under it with AES-256-GCM, and the data key itself is sealed ("wrapped") under the
/// vault key. Both layers carry associated data naming the row (and, for secrets, the column),
/// so a ciphertext or a wrapped key copied into another row or column fails to open.
/// Layout of every sealed value: nonce(12) | tag(16) | ciphertext.
/// </summary>
public sealed class VaultCipher(VaultKeyRing keys)
{
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public VaultKeyRing Keys => keys;

    /// <summary>An unwrapped data key with the wrapped form stored beside the row. Dispose to wipe it from memory.</summary>
    public sealed class DataKey(byte[] key, string keyId, byte[] wrapped) : IDisposable
    {
        internal byte[] Key { get; } = key;
        public string KeyId { get; } = keyId;
        public byte[] Wrapped { get; } = wrapped;
        public void Dispose() => CryptographicOperations.ZeroMemory(Key);
    }

    /// <summary>A fresh data key for the row named by <paramref name="rowContext"/>, wrapped by the current vault key.</summary>
    public DataKey NewDataKey(string rowContext)
    {
        var current = keys.Current ?? throw VaultErrors.NotConfigured(keys.DisabledReason);
        var dek = RandomNumberGenerator.GetBytes(32);
        return new DataKey(dek, current.Id, SealBytes(current.Kek, dek, WrapContext(rowContext)));
    }

    /// <summary>Unwraps a row's data key with whichever configured key wrapped it.</summary>
    /// <exception cref="AuthlyException">the key is not configured, or the wrapped key belongs to another row or was altered</exception>
    public DataKey OpenDataKey(string keyId, byte[] wrapped, string rowContext)
    {
        if (!keys.IsEnabled) throw VaultErrors.NotConfigured(keys.DisabledReason);
        var kek = keys.Find(keyId) ?? throw VaultErrors.Unreadable($"wrapped by vault key {keyId}, which is not configured (AUTHLY_VAULT_PREVIOUS_KEYS?)");
        try { return new DataKey(OpenBytes(kek.Kek, wrapped, WrapContext(rowContext)), keyId, wrapped); }
        catch (CryptographicException) { throw VaultErrors.Unreadable("data key does not open for this row"); }
    }

    /// <summary>
    /// The row's data key wrapped again with the current vault key, or null when it already is.
    /// The data key itself does not change, so the row's secrets stay as they are.
    /// </summary>
    public (string KeyId, byte[] Wrapped)? Rewrap(string keyId, byte[] wrapped, string rowContext)
    {
        var current = keys.Current ?? throw VaultErrors.NotConfigured(keys.DisabledReason);
        if (keyId == current.Id) return null;
        using var dek = OpenDataKey(keyId, wrapped, rowContext);
        return (current.Id, SealBytes(current.Kek, dek.Key, WrapContext(rowContext)));
    }

    public static byte[] Seal(DataKey key, string plaintext, string fieldContext) =>
        SealBytes(key.Key, Encoding.UTF8.GetBytes(plaintext), fieldContext);

    /// <exception cref="AuthlyException">the ciphertext was made for another row or column, or altered</exception>
    public static string Open(DataKey key, byte[] sealedValue, string fieldContext)
    {
        try { return Encoding.UTF8.GetString(OpenBytes(key.Key, sealedValue, fieldContext)); }
        catch (CryptographicException) { throw VaultErrors.Unreadable("ciphertext does not open for this row and column"); }
    }

    private static string WrapContext(string rowContext) => "authly-vault/data-key/" + rowContext;

    private static byte[] SealBytes(byte[] key, ReadOnlySpan<byte> plaintext, string associatedData)
    {
        var output = new byte[NonceSize + TagSize + plaintext.Length];
        RandomNumberGenerator.Fill(output.AsSpan(0, NonceSize));
        using var gcm = new AesGcm(key, TagSize);
        gcm.Encrypt(output.AsSpan(0, NonceSize), plaintext, output.AsSpan(NonceSize + TagSize), output.AsSpan(NonceSize, TagSize),
            Encoding.UTF8.GetBytes(associatedData));
        return output;
    }

    private static byte[] OpenBytes(byte[] key, ReadOnlySpan<byte> sealedValue, string associatedData)
    {
        if (sealedValue.Length < NonceSize + TagSize) throw new CryptographicException("sealed value is too short");
        var plaintext = new byte[sealedValue.Length - NonceSize - TagSize];
        using var gcm = new AesGcm(key, TagSize);
        gcm.Decrypt(sealedValue[..NonceSize], sealedValue[(NonceSize + TagSize)..], sealedValue.Slice(NonceSize, TagSize), plaintext,
            Encoding.UTF8.GetBytes(associatedData));
        return plaintext;
    }
}
