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
    public void Verify_AgainstAMissingOrForeignHash_IsFalseAndDoesNotThrow(string? hash)
    {
        Assert.That(Cheap.Verify("plain-text-password", hash), Is.False);
    }

    [Test]
    public void VerifyDummy_ForAnUnknownUser_RunsWithoutThrowing()
    {
        // The point is to spend a real Argon2 verification (timing is not asserted: it is not deterministic).
        Assert.DoesNotThrow(() => Default.VerifyDummy("whatever the caller typed"));
    }
}
