using Authly.Configuration;

namespace Authly.Tests.Core;

/// <summary>AUTHLY_REFRESH_RETRY_GRACE_SECONDS (issue 12): default 10, 0 turns the retry window off, bad values named.</summary>
[TestFixture, Category("Core")]
public sealed class RefreshRetryGraceOptionTests
{
    private static AuthlyOptions Load(string? value) => AuthlyOptions.Load(name => name switch
    {
        "DATABASE_URL" => "postgresql://authly:pw@localhost:5432/authly",
        "AUTHLY_MODE" => "testing",
        "AUTHLY_REFRESH_RETRY_GRACE_SECONDS" => value,
        _ => null,
    });

    [Test]
    public void Load_WithoutTheSetting_GivesTenSeconds()
    {
        Assert.That(Load(null).RefreshRetryGraceSeconds, Is.EqualTo(10));
        Assert.That(Load(null).RefreshRetryGrace, Is.EqualTo(TimeSpan.FromSeconds(10)));
    }

    [TestCase("0", 0)]
    [TestCase(" 30 ", 30)]
    [TestCase("300", 300)]
    public void Load_ReadsTheSetting(string value, int expected) =>
        Assert.That(Load(value).RefreshRetryGraceSeconds, Is.EqualTo(expected));

    [TestCase("-1")]
    [TestCase("301")]
    [TestCase("ten")]
    [TestCase("1.5")]
    public void Load_BadValue_GivesOneMessageNamingTheVariableAndValue(string value)
    {
        var e = Assert.Throws<AuthlyConfigurationException>(() => Load(value))!;
        Assert.That(e.Problems, Has.Count.EqualTo(1), e.Message);
        Assert.That(e.Problems[0], Does.Contain("AUTHLY_REFRESH_RETRY_GRACE_SECONDS").And.Contain(value));
    }
}
