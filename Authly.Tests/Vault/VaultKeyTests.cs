using System.Security.Cryptography;
using Authly.Configuration;
using Authly.Vault;

namespace Authly.Tests.Vault;

/// <summary>The vault's keys and envelope encryption, without a server: pure unit tests.</summary>
[TestFixture, Category("Vault")]
public sealed class VaultKeyTests
{
    private static string NewKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    private static AuthlyOptions Options(params (string Key, string Value)[] settings)
    {
        var env = new Dictionary<string, string>
        {
            ["DATABASE_URL"] = "postgresql://u:p@localhost/db", ["AUTHLY_MODE"] = "production",
            ["JWT_SECRET_KEY"] = "a-production-secret-that-is-long-enough", ["JWT_REFRESH_SECRET_KEY"] = "another-production-secret-long-enough",
        };
        foreach (var (k, v) in settings) env[k] = v;
        return AuthlyOptions.Load(k => env.GetValueOrDefault(k));
    }

    [Test]
    public void Seal_ThenOpenInSameRowAndColumn_ReturnsPlaintext()
    {
        var cipher = new VaultCipher(VaultKeyRing.FromHexKeys(NewKey(), []));
        using var key = cipher.NewDataKey("vault_entries/1/2/3");
        var sealedValue = VaultCipher.Seal(key, "refresh-token-value", "vault_entries/1/2/3/refresh_token");
        using var opened = cipher.OpenDataKey(key.KeyId, key.Wrapped, "vault_entries/1/2/3");
        Assert.That(VaultCipher.Open(opened, sealedValue, "vault_entries/1/2/3/refresh_token"), Is.EqualTo("refresh-token-value"));
        Assert.That(System.Text.Encoding.UTF8.GetString(sealedValue), Does.Not.Contain("refresh-token-value"));
    }

    [TestCase("vault_entries/9/2/3/refresh_token", Description = "another row")]
    [TestCase("vault_entries/1/2/3/access_token", Description = "another column of the same row")]
    public void Open_CiphertextInAnotherRowOrColumn_IsRejectedAsUnreadable(string otherContext)
    {
        var cipher = new VaultCipher(VaultKeyRing.FromHexKeys(NewKey(), []));
        using var key = cipher.NewDataKey("vault_entries/1/2/3");
        var sealedValue = VaultCipher.Seal(key, "secret", "vault_entries/1/2/3/refresh_token");
        var e = Assert.Throws<AuthlyException>(() => VaultCipher.Open(key, sealedValue, otherContext))!;
        Assert.That(e.Code, Is.EqualTo("VAULT_ENTRY_UNREADABLE"));
    }

    [Test]
    public void OpenDataKey_WrappedForAnotherRow_IsRejectedAsUnreadable()
    {
        var cipher = new VaultCipher(VaultKeyRing.FromHexKeys(NewKey(), []));
        using var key = cipher.NewDataKey("vault_entries/1/2/3");
        var e = Assert.Throws<AuthlyException>(() => cipher.OpenDataKey(key.KeyId, key.Wrapped, "vault_entries/4/2/3"))!;
        Assert.That(e.Code, Is.EqualTo("VAULT_ENTRY_UNREADABLE"));
    }

    [Test]
    public void Rewrap_WithNewCurrentKeyAndOldAsPrevious_KeepsSecretsReadableUnderNewKeyOnly()
    {
        var (oldKey, newKey) = (NewKey(), NewKey());
        var before = new VaultCipher(VaultKeyRing.FromHexKeys(oldKey, []));
        using var dek = before.NewDataKey("row");
        var secret = VaultCipher.Seal(dek, "kept", "row/field");

        var during = new VaultCipher(VaultKeyRing.FromHexKeys(newKey, [oldKey]));
        using (var read = during.OpenDataKey(dek.KeyId, dek.Wrapped, "row"))
            Assert.That(VaultCipher.Open(read, secret, "row/field"), Is.EqualTo("kept"), "readable during the rotation");
        var (newId, newWrapped) = during.Rewrap(dek.KeyId, dek.Wrapped, "row")!.Value;
        Assert.That(newId, Is.Not.EqualTo(dek.KeyId));
        Assert.That(during.Rewrap(newId, newWrapped, "row"), Is.Null, "already current");

        var after = new VaultCipher(VaultKeyRing.FromHexKeys(newKey, []));
        using (var read = after.OpenDataKey(newId, newWrapped, "row"))
            Assert.That(VaultCipher.Open(read, secret, "row/field"), Is.EqualTo("kept"), "the secret itself was not re-encrypted");
        var e = Assert.Throws<AuthlyException>(() => after.OpenDataKey(dek.KeyId, dek.Wrapped, "row"))!;
        Assert.That(e.Private, Does.Contain(dek.KeyId), "names the missing key");
    }

    [Test]
    public void KeyId_IsStableAndRevealsNoKeyMaterial()
    {
        var hex = NewKey();
        var id = VaultKeyRing.FromHexKeys(hex, []).Current!.Id;
        Assert.That(VaultKeyRing.FromHexKeys(hex, []).Current!.Id, Is.EqualTo(id));
        Assert.That(id, Does.StartWith("vk_").And.Length.EqualTo(19));
        Assert.That(hex, Does.Not.Contain(id[3..]));
    }

    [TestCase("abc", Description = "too short")]
    [TestCase("zz3456789012345678901234567890123456789012345678901234567890abcd", Description = "not hex")]
    public void Load_MalformedVaultKey_IsAStartupErrorThatDoesNotQuoteTheKey(string bad)
    {
        var e = Assert.Throws<AuthlyConfigurationException>(() => Options(("AUTHLY_VAULT_ENCRYPTION_KEY", bad)))!;
        Assert.That(e.Message, Does.Contain("AUTHLY_VAULT_ENCRYPTION_KEY must be 64 hexadecimal characters"));
        Assert.That(e.Message, Does.Not.Contain(bad));
    }

    [Test]
    public void Load_MalformedPreviousKey_IsAStartupError()
    {
        var e = Assert.Throws<AuthlyConfigurationException>(() => Options(("AUTHLY_VAULT_ENCRYPTION_KEY", NewKey()),
            ("AUTHLY_VAULT_PREVIOUS_KEYS", NewKey() + ",1234")))!;
        Assert.That(e.Message, Does.Contain("AUTHLY_VAULT_PREVIOUS_KEYS: key #2"));
    }

    [Test]
    public void Create_InProductionWithoutKey_LeavesTheVaultOffAndSaysWhy()
    {
        var ring = VaultKeyRing.Create(Options());
        Assert.That(ring.IsEnabled, Is.False);
        Assert.That(ring.DisabledReason, Does.Contain("AUTHLY_VAULT_ENCRYPTION_KEY"));
        var e = Assert.Throws<AuthlyException>(() => new VaultCipher(ring).NewDataKey("row"))!;
        Assert.That((e.Status, e.Code), Is.EqualTo((503, "VAULT_NOT_CONFIGURED")));
    }

    [Test]
    public void Create_InTestingModeWithoutKey_DerivesTheSameKeyOnEveryNode()
    {
        var a = VaultKeyRing.Create(Options(("AUTHLY_MODE", "testing")));
        var b = VaultKeyRing.Create(Options(("AUTHLY_MODE", "testing")));
        var other = VaultKeyRing.Create(Options(("AUTHLY_MODE", "testing"), ("JWT_SECRET_KEY", "some-other-secret-of-enough-length")));
        Assert.That(a.Current!.Id, Is.EqualTo(b.Current!.Id));
        Assert.That(other.Current!.Id, Is.Not.EqualTo(a.Current.Id));
    }

    [Test]
    public void LoadOrCreateKeyFile_InEmbeddedDataDir_GeneratesOnceWithOwnerOnlyMode()
    {
        var dir = Path.Combine(Path.GetTempPath(), "authly-vault-key-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            var first = VaultKeyRing.LoadOrCreateKeyFile(dir);
            Assert.That(VaultKeyRing.IsValidHexKey(first), Is.True);
            Assert.That(VaultKeyRing.LoadOrCreateKeyFile(dir), Is.EqualTo(first), "kept across restarts");
            Assert.That(File.GetUnixFileMode(Path.Combine(dir, "vault.key")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
