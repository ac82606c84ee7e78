using Authly.Proxy;
using Microsoft.Extensions.Logging;

namespace Authly.Tests.Proxies;

/// <summary>
/// Issue 13, "every setting read in the proxy's options type": LOG_LEVEL, LOG_JSON and AUTHLY_CLOCK_LEEWAY_SECONDS
/// are read by <see cref="ProxyOptions.FromEnvironment"/> like every other proxy setting, and a bad value is
/// reported with the setting's name instead of being ignored.
/// </summary>
[TestFixture, Category("Proxy")]
public sealed class ProxyOptionsTests
{
    private static ProxyOptions Load(params (string Name, string Value)[] env) =>
        ProxyOptions.FromEnvironment(name => env.FirstOrDefault(e => e.Name == name).Value);

    [Test]
    public void Defaults_are_Information_plain_text_and_the_servers_leeway()
    {
        var o = Load();
        Assert.That((o.LogLevel, o.LogJson, o.ClockLeeway),
            Is.EqualTo((LogLevel.Information, false, TimeSpan.FromSeconds(Tokens.TokenLifetime.DefaultLeewaySeconds))));
    }

    [TestCase("debug", LogLevel.Debug)]
    [TestCase("Warning", LogLevel.Warning)]
    [TestCase(" ERROR ", LogLevel.Error)]
    [TestCase("", LogLevel.Information)]
    public void LOG_LEVEL_is_read_case_insensitively(string raw, LogLevel expected) =>
        Assert.That(Load(("LOG_LEVEL", raw)).LogLevel, Is.EqualTo(expected));

    [TestCase("true", true)]
    [TestCase("1", true)]
    [TestCase("on", true)]
    [TestCase("false", false)]
    [TestCase("0", false)]
    public void LOG_JSON_is_read_as_the_server_reads_it(string raw, bool expected) =>
        Assert.That(Load(("LOG_JSON", raw)).LogJson, Is.EqualTo(expected));

    [Test]
    public void AUTHLY_CLOCK_LEEWAY_SECONDS_sets_the_leeway_the_token_validator_uses() =>
        Assert.That(Load(("AUTHLY_CLOCK_LEEWAY_SECONDS", "7")).ClockLeeway, Is.EqualTo(TimeSpan.FromSeconds(7)));

    [Test]
    public void Bad_values_are_all_reported_at_once_naming_each_setting()
    {
        var e = Assert.Throws<FormatException>(() => Load(("LOG_LEVEL", "loud"), ("LOG_JSON", "maybe"), ("AUTHLY_CLOCK_LEEWAY_SECONDS", "-1")))!;
        Assert.That(e.Message, Does.Contain("LOG_LEVEL: 'loud' must be one of Trace, Debug, Information, Warning, Error, Critical"));
        Assert.That(e.Message, Does.Contain("LOG_JSON: 'maybe' must be true or false"));
        Assert.That(e.Message, Does.Contain("AUTHLY_CLOCK_LEEWAY_SECONDS: '-1' must be a whole number"));
    }

    [TestCase("None", Description = "Enum.TryParse took it; the server does not")]
    [TestCase("2", Description = "a number is not a level name")]
    public void LOG_LEVEL_outside_the_servers_list_is_refused(string raw) =>
        Assert.Throws<FormatException>(() => Load(("LOG_LEVEL", raw)));
}
