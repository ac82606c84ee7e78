using Authly.Scopes;

namespace Authly.Tests.Core;

/// <summary>The rules of a scope definition (Authly.Core/Scopes/ScopeRules), moved out of the admin endpoint in issue 13.</summary>
[TestFixture, Category("Core")]
public sealed class ScopeRulesTests
{
    [TestCase("orders:read", "orders:read")]
    [TestCase("  orders:read  ", "orders:read")]
    [TestCase("a", "a")]
    [TestCase("https://api.example/orders.read", "https://api.example/orders.read")]
    [Description("RFC 6749 §3.3: a scope-token is 1*( %x21 / %x23-5B / %x5D-7E ); surrounding blanks are trimmed")]
    public void CheckName_WithAValidScopeToken_ReturnsItTrimmed(string given, string stored) =>
        Assert.That(ScopeRules.CheckName(given), Is.EqualTo(stored));

    [TestCase(null, "scope_name is required")]
    [TestCase("", "scope_name is required")]
    [TestCase("   ", "scope_name is required")]
    [TestCase("two words", "scope_name must be 1-100")]
    [TestCase("quo\"te", "scope_name must be 1-100")]
    [TestCase("back\\slash", "scope_name must be 1-100")]
    [TestCase("tab\there", "scope_name must be 1-100")]
    [TestCase("ünicode", "scope_name must be 1-100")]
    [Description("RFC 6749 §3.3: a name that is no scope-token could never be requested, so it is refused")]
    public void CheckName_WithoutAValidScopeToken_Throws400NamingTheField(string? given, string message)
    {
        var e = Assert.Throws<AuthlyException>(() => ScopeRules.CheckName(given))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Status, Is.EqualTo(400));
            Assert.That(e.Field, Is.EqualTo("scope_name"));
            Assert.That(e.Detail, Does.StartWith(message));
        });
    }

    [Test]
    public void CheckName_LongerThan100Characters_Throws_AndExactly100IsAllowed()
    {
        Assert.That(ScopeRules.CheckName(new string('s', 100)), Has.Length.EqualTo(100));
        Assert.That(Assert.Throws<AuthlyException>(() => ScopeRules.CheckName(new string('s', 101)))!.Field, Is.EqualTo("scope_name"));
    }

    [TestCase(null)]
    [TestCase("orders:read")]
    public void CheckNameUnchanged_WithNoNameOrTheSameName_Passes(string? given) =>
        Assert.DoesNotThrow(() => ScopeRules.CheckNameUnchanged("orders:read", given));

    [TestCase("orders:write")]
    [TestCase("Orders:read")]
    [TestCase("")]
    public void CheckNameUnchanged_WithAnotherName_Throws400(string given)
    {
        var e = Assert.Throws<AuthlyException>(() => ScopeRules.CheckNameUnchanged("orders:read", given))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Status, Is.EqualTo(400));
            Assert.That(e.Field, Is.EqualTo("scope_name"));
            Assert.That(e.Detail, Is.EqualTo("scope_name cannot be changed"));
        });
    }

    [Test]
    public void CheckDescription_UpTo1000Characters_Passes_AndLongerThrows400()
    {
        Assert.DoesNotThrow(() => ScopeRules.CheckDescription(null));
        Assert.DoesNotThrow(() => ScopeRules.CheckDescription(new string('d', 1000)));
        var e = Assert.Throws<AuthlyException>(() => ScopeRules.CheckDescription(new string('d', 1001)))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Status, Is.EqualTo(400));
            Assert.That(e.Field, Is.EqualTo("description"));
        });
    }

    [Test]
    public void AlreadyExists_Is400NamingTheScopeAndTheField()
    {
        var e = ScopeRules.AlreadyExists("orders:read");
        Assert.Multiple(() =>
        {
            Assert.That(e.Status, Is.EqualTo(400));
            Assert.That(e.Field, Is.EqualTo("scope_name"));
            Assert.That(e.Detail, Is.EqualTo("Scope 'orders:read' already exists"));
        });
    }
}
