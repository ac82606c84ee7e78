using System.Security.Cryptography;
using System.Text;
using Authly.Security;

namespace Authly.Tests.Core;

[TestFixture, Category("Core")]
public sealed class SecretBoxTests
{
    private static readonly byte[] Plaintext = Encoding.UTF8.GetBytes("a private key, PKCS#8 DER in real use");
    private readonly SecretBox _box = new("the configured secret", "authly-signing-keys");

    [Test]
    public void Open_OfSeal_GivesThePlaintextBack()
    {
        var sealedData = _box.Seal(Plaintext, "kid-1");
        Assert.That(_box.Open(sealedData, "kid-1"), Is.EqualTo(Plaintext));
        Assert.That(sealedData, Has.Length.EqualTo(12 + 16 + Plaintext.Length));
    }

    [Test]
    public void Open_WithAnotherInstanceOfTheSameSecretAndPurpose_Works()
    {
        var sealedData = _box.Seal(Plaintext, "kid-1");
        Assert.That(new SecretBox("the configured secret", "authly-signing-keys").Open(sealedData, "kid-1"), Is.EqualTo(Plaintext));
    }

    [Test]
    public void Seal_TheSamePlaintextTwice_GivesDifferentOutput()
    {
        Assert.That(_box.Seal(Plaintext, "kid-1"), Is.Not.EqualTo(_box.Seal(Plaintext, "kid-1")), "a fresh nonce each time");
    }

    [Test]
    public void Seal_EmptyPlaintext_RoundTrips()
    {
        Assert.That(_box.Open(_box.Seal([], "ad"), "ad"), Is.Empty);
    }

    [TestCase(0, Description = "nonce")]
    [TestCase(12, Description = "tag")]
    [TestCase(28, Description = "first ciphertext byte")]
    [TestCase(-1, Description = "last ciphertext byte")]
    public void Open_TamperedData_ThrowsCryptographicException(int index)
    {
        var sealedData = _box.Seal(Plaintext, "kid-1");
        sealedData[index < 0 ? sealedData.Length + index : index] ^= 0x01;
        Assert.That(() => _box.Open(sealedData, "kid-1"), Throws.InstanceOf<CryptographicException>());
    }

    [Test]
    public void Open_TruncatedData_ThrowsCryptographicException()
    {
        var sealedData = _box.Seal(Plaintext, "kid-1");
        Assert.That(() => _box.Open(sealedData.AsSpan(0, sealedData.Length - 1), "kid-1"), Throws.InstanceOf<CryptographicException>());
        Assert.That(() => _box.Open(sealedData.AsSpan(0, 27), "kid-1"), Throws.InstanceOf<CryptographicException>());
        Assert.That(() => _box.Open([], "kid-1"), Throws.InstanceOf<CryptographicException>());
    }

    [Test]
    public void Open_WithOtherAssociatedData_Fails()
    {
        // A sealed private key copied onto another key's row must not open there.
        var sealedData = _box.Seal(Plaintext, "kid-1");
        Assert.That(() => _box.Open(sealedData, "kid-2"), Throws.InstanceOf<CryptographicException>());
    }

    [Test]
    public void Open_WithOtherSecret_Fails()
    {
        var sealedData = _box.Seal(Plaintext, "kid-1");
        Assert.That(() => new SecretBox("another secret", "authly-signing-keys").Open(sealedData, "kid-1"), Throws.InstanceOf<CryptographicException>());
    }

    [Test]
    public void Open_WithOtherPurpose_Fails()
    {
        var sealedData = _box.Seal(Plaintext, "kid-1");
        Assert.That(() => new SecretBox("the configured secret", "authly-vault").Open(sealedData, "kid-1"), Throws.InstanceOf<CryptographicException>());
    }
}
