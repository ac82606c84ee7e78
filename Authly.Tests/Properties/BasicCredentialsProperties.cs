using System.Net;
using System.Text;
using Authly.OAuth;
using Authly.Server.Http;
using CsCheck;
using Microsoft.AspNetCore.Http;

namespace Authly.Tests.Properties;

/// <summary>
/// RFC 6749 §2.3.1 client authentication and RFC 6750 §2.1 bearer headers under generated input (CsCheck).
/// Basic credentials are the form-url-encoded id and secret joined by a colon, base64-encoded: any id and secret
/// survive that trip exactly; any other bytes are either exactly such credentials or refused with invalid_client.
/// </summary>
[TestFixture, Category("Properties")]
public sealed class BasicCredentialsProperties
{
    private static HttpRequest WithAuthorization(string header)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Authorization = header;
        return context.Request;
    }

    /// <summary>Any text without unpaired surrogates (which no UTF-8 can carry), weighted towards the characters the encodings treat specially.</summary>
    private static readonly Gen<string> Text = Gen.OneOf(
        Gen.Char[":+% &=/\\\"'aZ09é€\u0000\t\n"].Array[0, 12].Select(c => new string(c)),
        Gen.String[0, 12].Select(s => new string(s.Where(c => !char.IsSurrogate(c)).ToArray())));

    private static string Encode(string id, string secret) =>
        "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(WebUtility.UrlEncode(id) + ":" + WebUtility.UrlEncode(secret)));

    [Test]
    public void Basic_AnyIdAndSecret_RoundTripExactly() =>
        Gen.Select(Text.Where(s => s.Length > 0), Text).Sample((id, secret) =>
            Assert.That(BasicCredentials.Parse(WithAuthorization(Encode(id, secret))), Is.EqualTo(new ClientCredentials(id, secret))),
            iter: 5_000);

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static string? Utf8OrNull(byte[] bytes)
    {
        try { return StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { return null; }
    }

    [Test]
    public void Basic_ArbitraryBytes_ParseToExactlyTheirCredentials_OrAreRefusedWithInvalidClient() =>
        Gen.OneOf(Gen.Byte.Array[0, 16], Gen.Byte[0x3A, 0xFF].Array[0, 6]).Sample(bytes =>
        {
            var header = "Basic " + Convert.ToBase64String(bytes);
            var text = Utf8OrNull(bytes);
            var colon = text?.IndexOf(':') ?? -1;
            ClientCredentials? parsed;
            try { parsed = BasicCredentials.Parse(WithAuthorization(header)); }
            catch (OAuthException e)
            {
                Assert.That(e.Error, Is.EqualTo("invalid_client"));
                Assert.That(colon, Is.LessThanOrEqualTo(0), $"{Convert.ToHexString(bytes)} is well-formed but was refused");
                return;
            }
            Assert.That(colon, Is.GreaterThan(0), $"{Convert.ToHexString(bytes)} parsed to {parsed} but is not UTF-8 id:secret");
            Assert.That(parsed, Is.EqualTo(new ClientCredentials(
                Uri.UnescapeDataString(text![..colon].Replace('+', ' ')), Uri.UnescapeDataString(text[(colon + 1)..].Replace('+', ' ')))));
        }, iter: 5_000);

    /// <summary>Found by the property above: "a:" + 0xFF parsed to secret U+FFFD, so any invalid byte read as that one character.</summary>
    [Test]
    public void Basic_NotUtf8_IsRefused_Regression()
    {
        var e = Assert.Throws<OAuthException>(() => BasicCredentials.Parse(WithAuthorization("Basic " + Convert.ToBase64String([0x61, 0x3A, 0xFF]))));
        Assert.That(e!.Error, Is.EqualTo("invalid_client"));
    }

    [Test]
    public void Basic_ArbitraryHeader_ThrowsNothingButInvalidClient() =>
        Gen.Select(Gen.Bool, Gen.String[0, 24], (basic, s) => (basic ? "Basic " : "") + s).Sample(header =>
        {
            try { BasicCredentials.Parse(WithAuthorization(header)); }
            catch (OAuthException e) { Assert.That(e.Error, Is.EqualTo("invalid_client"), header); }
        }, iter: 5_000);

    /// <summary>RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".</summary>
    private static readonly Gen<string> B64Token =
        Gen.Select(Gen.Char["ABCXYZabcxyz0189-._~+/"].Array[1, 40], Gen.Int[0, 2], (c, pad) => new string(c) + new string('=', pad));

    [Test]
    public void Bearer_AnyB64Token_RoundTrips_AnyOtherHeaderNeverThrows()
    {
        Gen.Select(B64Token, Gen.OneOf("Bearer ", "bearer ", "BEARER ")).Sample((token, scheme) =>
            Assert.That(BasicCredentials.Bearer(WithAuthorization(scheme + token)), Is.EqualTo(token)), iter: 2_000);
        Gen.String[0, 24].Select(s => "Bearer" + s).Sample(header =>
        {
            var token = BasicCredentials.Bearer(WithAuthorization(header));
            Assert.That(token is null || (token.Length > 0 && token == token.Trim() && header.Contains(token, StringComparison.Ordinal)), Is.True, header);
        }, iter: 2_000);
    }
}
