using System.Net;
using System.Text;
using Authly.OAuth;
using Authly.Server.Http;
using CsCheck;
using Microsoft.AspNetCore.Http;

namespace Authly.Tests.Properties;

/// <summary>
/// application/x-www-form-urlencoded bodies under generated input (CsCheck): any set of distinct parameters
/// survives encode → <see cref="FormParameters.ReadAsync"/>, a repeated one is refused (RFC 6749 §3.1, §3.2),
/// and arbitrary bytes are read or refused with invalid_request, nothing else.
/// </summary>
[TestFixture, Category("Properties")]
public sealed class FormParametersProperties
{
    private static HttpRequest Form(byte[] body, string contentType = "application/x-www-form-urlencoded")
    {
        var context = new DefaultHttpContext();
        context.Request.ContentType = contentType;
        context.Request.Body = new MemoryStream(body);
        context.Request.ContentLength = body.Length;
        return context.Request;
    }

    private static readonly Gen<string> Text = Gen.OneOf(
        Gen.Char["+% &=;?/#\"'aZ09é€\t\n"].Array[0, 10].Select(c => new string(c)),
        Gen.String[0, 10].Select(s => new string(s.Where(c => !char.IsSurrogate(c)).ToArray())));

    private static byte[] Encode(IEnumerable<(string Key, string Value)> pairs) =>
        Encoding.ASCII.GetBytes(string.Join("&", pairs.Select(p => WebUtility.UrlEncode(p.Key) + "=" + WebUtility.UrlEncode(p.Value))));

    [Test]
    public void DistinctParameters_RoundTripExactly() =>
        Gen.Select(Text.Where(k => k.Length > 0), Text).Array[0, 6].Sample(pairs =>
        {
            // ASP.NET Core's form collection keys are case-insensitive: "Z" and "z" are one parameter sent twice, which the
            // reader refuses as repeated (a safe refusal, ARepeatedParameter_IsRefusedWithInvalidRequest). Distinct here
            // means distinct ignoring case (seed eVZwgoNjboo1 drew "Z" and "z").
            var distinct = pairs.DistinctBy(p => p.Item1, StringComparer.OrdinalIgnoreCase).ToArray();
            var read = FormParameters.ReadAsync(Form(Encode(distinct)), CancellationToken.None).GetAwaiter().GetResult();
            Assert.That(read, Is.EquivalentTo(distinct.ToDictionary(p => p.Item1, p => p.Item2)));
        }, iter: 3_000);

    [Test]
    public void ARepeatedParameter_IsRefusedWithInvalidRequest() =>
        Gen.Select(Text.Where(k => k.Length > 0), Text, Text).Sample((key, first, second) =>
        {
            var e = Assert.ThrowsAsync<OAuthException>(() => FormParameters.ReadAsync(Form(Encode([(key, first), ("other", "x"), (key, second)])), CancellationToken.None));
            Assert.That(e!.Error, Is.EqualTo("invalid_request"));
        }, iter: 1_000);

    [Test]
    public void ArbitraryBytes_AreReadOrRefusedWithInvalidRequest() =>
        Gen.OneOf(Gen.Byte.Array[0, 40], Gen.Char["=&%+a;\u00ff"].Array[0, 20].Select(c => Encoding.Latin1.GetBytes(c))).Sample(body =>
        {
            try { FormParameters.ReadAsync(Form(body), CancellationToken.None).GetAwaiter().GetResult(); }
            catch (OAuthException e) { Assert.That(e.Error, Is.EqualTo("invalid_request"), Convert.ToHexString(body)); }
        }, iter: 3_000);
}
