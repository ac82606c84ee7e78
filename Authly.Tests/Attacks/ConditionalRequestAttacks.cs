using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 14: discovery and the JWKS parse If-None-Match on every request. A huge or malformed field
/// must neither fail the request nor be mistaken for a match: the answer is the full 200.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class ConditionalRequestAttacks : AppFixture
{
    private async Task<HttpResponseMessage> GetAsync(string path, string ifNoneMatch)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        Assert.That(request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch), Is.True);
        return await _app.CreateClient().SendAsync(request);
    }

    private static async Task AssertFullAnswerAsync(HttpResponseMessage response, string because)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), because);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.That(body.ContainsKey("keys") || body.ContainsKey("issuer"), Is.True, because);
    }

    [TestCase("/.well-known/jwks.json")]
    [TestCase("/.well-known/openid-configuration")]
    [Description("RFC 9110 §13.1.2: a list of 1,500 non-matching tags (about 24 KB) is read and answered with the full 200")]
    public async Task IfNoneMatch_HugeListOfTags_Returns200(string path)
    {
        var huge = string.Join(", ", Enumerable.Range(0, 1500).Select(i => $"\"tag-{i:D10}\""));
        Assert.That(Encoding.ASCII.GetByteCount(huge), Is.GreaterThan(20_000));
        await AssertFullAnswerAsync(await GetAsync(path, huge), "huge list");
    }

    [TestCase("garbage")]
    [TestCase("\"unterminated")]
    [TestCase("W/")]
    [TestCase("W/garbage")]
    [TestCase(",,,,")]
    [TestCase("**")]
    [TestCase("\"a\" \"b\"")]
    [TestCase("\"\\u0000\"")]
    [Description("RFC 9110 §8.8.3: a field that is not an entity-tag list is ignored: 200, never an error and never a 304")]
    public async Task IfNoneMatch_Malformed_Returns200(string value)
    {
        await AssertFullAnswerAsync(await GetAsync("/.well-known/jwks.json", value), value);
        await AssertFullAnswerAsync(await GetAsync("/.well-known/openid-configuration", value), value);
    }

    [Test, Description("A malformed field that also holds the current tag is ignored as a whole: 200, not 304")]
    public async Task IfNoneMatch_CurrentTagInsideAMalformedField_Returns200()
    {
        var etag = (await _app.CreateClient().GetAsync("/.well-known/jwks.json")).Headers.ETag!.ToString();
        await AssertFullAnswerAsync(await GetAsync("/.well-known/jwks.json", $"garbage, {etag}"), "garbage before the tag");
    }
}
