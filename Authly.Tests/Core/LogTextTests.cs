using Authly.Security;

namespace Authly.Tests.Core;

/// <summary>Caller-supplied text in log lines cannot forge entries (CWE-117).</summary>
[TestFixture, Category("Core")]
public sealed class LogTextTests
{
    [Test]
    public void Safe_WithPlainText_ReturnsItUnchanged() =>
        Assert.That(LogText.Safe("client 'web-app' asked for read"), Is.EqualTo("client 'web-app' asked for read"));

    [Test]
    public void Safe_WithLineBreaksAndEscapes_EscapesThem() =>
        Assert.That(LogText.Safe("a\r\nINFO forged\u001b[31m\u2028x"), Is.EqualTo("a\\u000d\\u000aINFO forged\\u001b[31m\\u2028x"));

    [Test]
    public void Safe_WithNull_ReturnsEmpty() => Assert.That(LogText.Safe(null), Is.EqualTo(""));

    [Test]
    public void Safe_WithHugeText_CapsIt()
    {
        var safe = LogText.Safe(new string('a', 10_000));
        Assert.That(safe, Has.Length.EqualTo(LogText.MaxLength + 1));
        Assert.That(safe, Does.EndWith("…"));
    }
}
