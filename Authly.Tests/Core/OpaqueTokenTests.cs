using Authly.Security;

namespace Authly.Tests.Core;

[TestFixture, Category("Core")]
public sealed class OpaqueTokenTests
{
    [TestCase(32, 43)]
    [TestCase(16, 22)]
    public void New_IsUnpaddedBase64UrlOfTheRequestedEntropy(int bytes, int length)
    {
        var token = OpaqueToken.New(bytes);
        Assert.That(token, Has.Length.EqualTo(length));
        Assert.That(token, Does.Match("^[A-Za-z0-9_-]+$"));
    }

    [Test]
    public void New_NeverRepeats()
    {
        var tokens = Enumerable.Range(0, 1000).Select(_ => OpaqueToken.New()).ToHashSet();
        Assert.That(tokens, Has.Count.EqualTo(1000));
    }

    [Test]
    public void Hash_IsSha256AndDeterministic()
    {
        var token = OpaqueToken.New();
        Assert.That(OpaqueToken.Hash(token), Has.Length.EqualTo(32));
        Assert.That(OpaqueToken.Hash(token), Is.EqualTo(OpaqueToken.Hash(token)));
        Assert.That(OpaqueToken.Hash(token), Is.Not.EqualTo(OpaqueToken.Hash(OpaqueToken.New())));
    }

    [Test]
    public void Matches_TheTokenItsHashWasMadeFrom()
    {
        var token = OpaqueToken.New();
        var stored = OpaqueToken.Hash(token);
        Assert.Multiple(() =>
        {
            Assert.That(OpaqueToken.Matches(token, stored), Is.True);
            Assert.That(OpaqueToken.Matches(token + "x", stored), Is.False);
            Assert.That(OpaqueToken.Matches(token[..^1], stored), Is.False);
            Assert.That(OpaqueToken.Matches("", stored), Is.False);
        });
    }

    [Test]
    public void Matches_WithNoOrMalformedStoredHash_IsFalse()
    {
        var token = OpaqueToken.New();
        Assert.Multiple(() =>
        {
            Assert.That(OpaqueToken.Matches(token, null), Is.False);
            Assert.That(OpaqueToken.Matches(token, []), Is.False);
            Assert.That(OpaqueToken.Matches(token, OpaqueToken.Hash(token)[..16]), Is.False);
        });
    }
}
