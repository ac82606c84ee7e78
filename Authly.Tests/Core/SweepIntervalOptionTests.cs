using Authly.Configuration;

namespace Authly.Tests.Core;

/// <summary>AUTHLY_SWEEP_INTERVAL_SECONDS (issue 14): default 60, 0 turns the expired-row sweeper off, bad values named.</summary>
[TestFixture, Category("Core")]
public sealed class SweepIntervalOptionTests
{
    private static AuthlyOptions Load(string? value) => AuthlyOptions.Load(name => name switch
    {
        "DATABASE_URL" => "postgresql://authly:pw@localhost:5432/authly",
        "AUTHLY_MODE" => "testing",
        "AUTHLY_SWEEP_INTERVAL_SECONDS" => value,
        _ => null,
    });

    [Test]
    public void Load_WithoutTheSetting_GivesSixtySeconds() => Assert.That(Load(null).SweepIntervalSeconds, Is.EqualTo(60));

    [TestCase("0", 0)]
    [TestCase(" 5 ", 5)]
    [TestCase("86400", 86400)]
    public void Load_ReadsTheSetting(string value, int expected) =>
        Assert.That(Load(value).SweepIntervalSeconds, Is.EqualTo(expected));

    [TestCase("-1")]
    [TestCase("86401")]
    [TestCase("sixty")]
    [TestCase("1.5")]
    public void Load_BadValue_GivesOneMessageNamingTheVariableAndValue(string value)
    {
        var e = Assert.Throws<AuthlyConfigurationException>(() => Load(value))!;
        Assert.That(e.Problems, Has.Count.EqualTo(1), e.Message);
        Assert.That(e.Problems[0], Does.Contain("AUTHLY_SWEEP_INTERVAL_SECONDS").And.Contain(value));
    }
}
