using Authly.Configuration;
using Authly.Security;

namespace Authly.Tests.Core;

[TestFixture, Category("Core")]
public sealed class PasswordHasherTests
{
    private static readonly PasswordHasher Default = new(new AuthlyOptions { DatabaseUrl = "" });
    private static readonly PasswordHasher Cheap = new(new AuthlyOptions { DatabaseUrl = "", Argon2OpsLimit = 1, Argon2MemLimitKiB = 8192 });

    [Test]
    public void Hash_WithDefaultOptions_IsArgon2idPhcStringWithOwaspCost()
    {
        var hash = Default.Hash("correct horse battery staple");
        Assert.That(hash, Does.StartWith("$argon2id$v=19$m=19456,t=2,p=1$"));
        Assert.That(hash.Split('$'), Has.Length.EqualTo(6), "$argon2id$v=19$params$salt$hash");
    }

    [Test]
    public void Hash_SamePasswordTwice_UsesDifferentSalts()
    {
        Assert.That(Cheap.Hash("same password"), Is.Not.EqualTo(Cheap.Hash("same password")));
    }

    [TestCase("correct horse battery staple")]
    [TestCase("pässwörd with ünïcödé ✓")]
    [TestCase("")]
    public void Verify_TheRightPassword_IsTrue(string password)
    {
        Assert.That(Cheap.Verify(password, Cheap.Hash(password)), Is.True);
    }

    [TestCase("Correct horse battery staple")]
    [TestCase("correct horse battery staple ")]
    [TestCase("")]
    public void Verify_AnyOtherPassword_IsFalse(string wrong)
    {
        Assert.That(Cheap.Verify(wrong, Cheap.Hash("correct horse battery staple")), Is.False);
    }

    [Test]
    public void Verify_ReadsTheCostFromTheHash_SoOldHashesStillVerifyAfterACostChange()
    {
        var hash = Cheap.Hash("pw-123456");
        Assert.That(hash, Does.Contain("m=8192,t=1"));
        Assert.That(Default.Verify("pw-123456", hash), Is.True);
    }

    [TestCase(null, Description = "unknown user: there is no hash")]
    [TestCase("")]
    [TestCase("$2b$12$abcdefghijklmnopqrstuuJvO3d6m6xA5Wz0s4b1p0Ew8S9c9o5Pq", Description = "not Argon2 (bcrypt)")]
    [TestCase("$argon2id$v=19$m=19456,t=2,p=1$garbage")]
    [TestCase("plain-text-password")]
    [TestCase("$argon2id$v=19$m=8192,t=1,p=1$20MDszo36YaAkZwv2z7dIA$CjIz56vs9Z8jsf8JZftrGv0MG", Description = "truncated")]
    [TestCase("$argon2i$v=19$m=8192,t=1,p=1$20MDszo36YaAkZwv2z7dIA$CjIz56vs9Z8jsf8JZftrGv0MGSKykor6HLigzwWAuaw", Description = "Argon2i: Authly never wrote one")]
    [TestCase("$argon2id$v=19$m=8192,t=1,p=1$20MDszo36YaAkZwv2z7dIA$CjIz56vs9Z8jsf8JZftrGv0MGSKykor6HLigzwWAuaw\0x", Description = "NUL inside")]
    [TestCase("$argon2id$v=19$m=8192,t=1,p=1$20MDszo36YaAkZwv2z7dIA$CjIz56vs9Z8jsf8JZftrGv0MGSKykor6HLigzwWAuaw€", Description = "not ASCII")]
    [TestCase("$argon2id$v=19$m=8192,t=1,p=1$20MDszo36YaAkZwv2z7dIA$CjIz56vs9Z8jsf8JZftrGv0MGSKykor6HLigzwWAuawAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", Description = "longer than libsodium's 128")]
    [TestCase("$argon2id$v=19$m=8192,t=1,p=1$!!!!!!!!!!!!!!!!!!!!!!$CjIz56vs9Z8jsf8JZftrGv0MGSKykor6HLigzwWAuaw", Description = "salt not base64")]
    public void Verify_AgainstAMissingOrForeignHash_IsFalseAndDoesNotThrow(string? hash)
    {
        Assert.That(Cheap.Verify("plain-text-password", hash), Is.False);
    }

    // Issue 15: PasswordHasher moved from a P/Invoke to Debian's libsodium23 (1.0.18) to Geralt, whose
    // package ships libsodium 1.0.22. These two strings were made by the old code (main at 5442ffb,
    // PasswordHasher.Hash with t=1/m=8192 and with the default cost); users' stored hashes look like them.
    private const string StoredCheapByLibsodium23 =
        "$argon2id$v=19$m=8192,t=1,p=1$20MDszo36YaAkZwv2z7dIA$CjIz56vs9Z8jsf8JZftrGv0MGSKykor6HLigzwWAuaw";
    private const string StoredDefaultByLibsodium23 =
        "$argon2id$v=19$m=19456,t=2,p=1$lxKY88TyDCWV91I8rf3vSA$0C8vIZ8Vbu4pmPJj5Y9Ax5CV5bWlYBQ8EDMZf0FAk+M";

    [Test]
    public void Verify_AHashStoredByTheLibsodium23Binding_StillVerifies_Issue15()
    {
        Assert.That(Cheap.Verify("correct horse battery staple", StoredCheapByLibsodium23), Is.True);
        Assert.That(Default.Verify("pässwörd with ünïcödé ✓", StoredDefaultByLibsodium23), Is.True);
        Assert.That(Cheap.Verify("correct horse battery staplE", StoredCheapByLibsodium23), Is.False);
        Assert.That(Default.Verify("pässwörd with ünïcödé", StoredDefaultByLibsodium23), Is.False);
    }

    [Test]
    public void Hash_HasTheShapeTheLibsodium23BindingWrote_SoOlderNodesVerifyIt_Issue15()
    {
        // crypto_pwhash_str's encoding: 16-byte salt and 32-byte tag in unpadded base64, no trailing NUL.
        // (That libsodium23 verifies these strings is checked by bench/Argon2Bench on every run.)
        const string shape = @"^\$argon2id\$v=19\$m=8192,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$";
        Assert.That(Cheap.Hash("correct horse battery staple"), Does.Match(shape));
        Assert.That(StoredCheapByLibsodium23, Does.Match(shape));
    }

    [Test]
    public void VerifyDummy_ForAnUnknownUser_RunsWithoutThrowing()
    {
        // The point is to spend a real Argon2 verification (timing is not asserted: it is not deterministic).
        Assert.DoesNotThrow(() => Default.VerifyDummy("whatever the caller typed"));
    }
}
