using Authly.OAuth;
using Authly.Scopes;

namespace Authly.Tests.Core;

/// <summary>RFC 6749 §3.3: scope = scope-token *( SP scope-token ); scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).</summary>
[TestFixture, Category("Core")]
public sealed class ScopeSetTests
{
    [TestCase("read")]
    [TestCase("admin:clients:read")]
    [TestCase("https://api.example.com/orders.read")]
    [TestCase("!")]
    [TestCase("#[]~")]
    [TestCase("a=b&c")]
    public void IsValidToken_PrintableAsciiExceptQuoteAndBackslash_IsTrue(string token)
    {
        Assert.That(ScopeSet.IsValidToken(token), Is.True);
    }

    [TestCase("", Description = "1* : at least one character")]
    [TestCase("two words")]
    [TestCase("quote\"d", Description = "%x22 is excluded")]
    [TestCase("back\\slash", Description = "%x5C is excluded")]
    [TestCase("tab\t")]
    [TestCase("new\nline")]
    [TestCase("del\u007f")]
    [TestCase("caf\u00e9", Description = "only ASCII")]
    [TestCase("\u0000")]
    public void IsValidToken_OutsideTheGrammar_IsFalse(string token)
    {
        Assert.That(ScopeSet.IsValidToken(token), Is.False);
    }

    [TestCase(null)]
    [TestCase("")]
    public void Parse_NothingRequested_IsEmpty(string? scope)
    {
        Assert.That(ScopeSet.Parse(scope), Is.Empty);
    }

    [Test]
    public void Parse_SpaceDelimitedList_GivesTheTokens()
    {
        Assert.That(ScopeSet.Parse("openid profile admin:clients:read"), Is.EquivalentTo(new[] { "openid", "profile", "admin:clients:read" }));
    }

    [Test]
    public void Parse_IsCaseSensitive_AndCollapsesRepeats()
    {
        var set = ScopeSet.Parse("read Read read");
        Assert.That(set, Is.EquivalentTo(new[] { "read", "Read" }));
        Assert.That(set.Contains("READ"), Is.False);
    }

    [TestCase("read \"write\"")]
    [TestCase("read\twrite", Description = "the delimiter is SP only")]
    [TestCase("read\\ write")]
    [TestCase("lire écrire")]
    public void Parse_MalformedScope_ThrowsInvalidScope(string scope)
    {
        var e = Assert.Throws<OAuthException>(() => ScopeSet.Parse(scope))!;
        Assert.That(e.Error, Is.EqualTo(OAuthErrors.InvalidScope));
    }

    [Test]
    public void Join_IsSpaceDelimitedInOrdinalOrder()
    {
        Assert.That(ScopeSet.Join(["write", "openid", "Read", "admin:x"]), Is.EqualTo("Read admin:x openid write"));
        Assert.That(ScopeSet.Join([]), Is.EqualTo(""));
    }

    [Test]
    public void Join_OfParse_RoundTrips()
    {
        Assert.That(ScopeSet.Parse(ScopeSet.Join(ScopeSet.Parse("b a c"))), Is.EquivalentTo(new[] { "a", "b", "c" }));
    }
}
