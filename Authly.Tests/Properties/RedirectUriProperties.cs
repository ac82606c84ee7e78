using System.Text.RegularExpressions;
using Authly.Clients;
using CsCheck;

namespace Authly.Tests.Properties;

/// <summary>
/// Redirect URI comparison under generated input (CsCheck): RFC 6749 §3.1.2.3 / RFC 9700 §4.1.3 exact match, with the
/// one RFC 8252 §7.3 exception that a loopback IP redirect may name any port. A URI that differs from the registered one
/// in any character (inserted, deleted or replaced) is refused, unless both are loopback IP URIs that differ only in the port.
/// </summary>
[TestFixture, Category("Properties")]
public sealed partial class RedirectUriProperties
{
    private static readonly Gen<string> Registered = Gen.OneOf(
        Gen.Select(Gen.OneOf("http://127.0.0.1", "http://[::1]"), Gen.OneOf("", ":8080", ":1", ":65535"), Gen.OneOf("", "/", "/cb", "/cb?x=1", "?a=b"),
            (host, port, rest) => host + port + rest),
        Gen.OneOf("https://app.example.com/cb", "https://app.example.com/cb?x=1", "http://localhost:3000/cb", "com.example.app:/oauth", "https://a.example/"));

    private static readonly Gen<char> AnyChar = Gen.OneOf(Gen.Char["0123456789:/?#.@[]%&=aAzZ \\"], Gen.Char['\u0080', '\uffff']);

    /// <summary>Independent of the code under test: host, port and the rest of a loopback IP redirect, or null.</summary>
    [GeneratedRegex(@"^http://(127\.0\.0\.1|\[::1\])(?::([1-9][0-9]{0,4}))?([/?].*)?$", RegexOptions.Singleline)]
    private static partial Regex LoopbackIp();

    private static (string Host, string PathAndQuery)? LoopbackWithoutPort(string uri)
    {
        var m = LoopbackIp().Match(uri);
        if (!m.Success || (m.Groups[2].Success && int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) > 65535)) return null;
        return (m.Groups[1].Value, m.Groups[3].Value);
    }

    [Test]
    public void AnyOneCharacterChange_IsRefused_ExceptALoopbackPort() =>
        Gen.Select(Registered, Gen.Int[0, 2], Gen.Int[0, 1000], AnyChar).Sample((registered, op, at, c) =>
        {
            var i = at % (registered.Length + (op == 1 ? 1 : 0));
            var given = op switch
            {
                0 => registered[..i] + c + registered[(i + 1)..],
                1 => registered.Insert(i, c.ToString()),
                _ => registered.Remove(i, 1),
            };
            if (given == registered) return;
            var mayMatch = LoopbackWithoutPort(registered) is { } r && LoopbackWithoutPort(given) == r;
            Assert.That(ClientRules.MatchesRegisteredRedirectUri([registered], given), Is.EqualTo(mayMatch), $"registered {registered}, given {given}");
        }, iter: 20_000);

    [Test]
    public void ALoopbackIpRedirect_MatchesOnAnyPort() =>
        Gen.Select(Gen.OneOf("http://127.0.0.1", "http://[::1]"), Gen.OneOf("", ":8080"), Gen.Int[1, 65535], Gen.OneOf("", "/cb", "/cb?x=1")).Sample((host, port, other, rest) =>
            Assert.That(ClientRules.MatchesRegisteredRedirectUri([host + port + rest], $"{host}:{other}{rest}"), Is.True), iter: 2_000);
}
