using System.Net;
using System.Text.Json.Nodes;
using Authly.Scopes;
using Authly.Tests.Infrastructure;
using Authly.Tokens;
using Microsoft.Extensions.DependencyInjection;

namespace Authly.Tests.Rfc9110;

/// <summary>
/// Discovery metadata and the JWKS are cacheable (issue 14): <c>Cache-Control: public, max-age</c>, a strong
/// <c>ETag</c> per document version (RFC 9110 §8.8.3) and <c>304 Not Modified</c> on a matching
/// <c>If-None-Match</c> (RFC 9110 §13.1.2, §15.4.5).
/// </summary>
[TestFixture, Category("RFC9110")]
public sealed class ConditionalRequestTests : AppFixture
{
    private const string Jwks = "/.well-known/jwks.json";
    private const string Metadata = "/.well-known/openid-configuration";
    private static readonly string[] Documents = [Jwks, Metadata, "/.well-known/oauth-authorization-server", "/.well-known/openid_configuration"];

    private async Task<HttpResponseMessage> GetAsync(string path, params string[] ifNoneMatch)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var value in ifNoneMatch) request.Headers.TryAddWithoutValidation("If-None-Match", value);
        return await _app.CreateClient().SendAsync(request);
    }

    private async Task<string> ETagAsync(string path)
    {
        var response = await GetAsync(path);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), path);
        return response.Headers.ETag?.ToString() ?? throw new AssertionException($"{path}: no ETag");
    }

    private static async Task AssertNotModifiedAsync(HttpResponseMessage response, string etag, string because)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotModified), because);
            Assert.That(body, Is.Empty, "a 304 has no body (RFC 9110 §15.4.5)");
            Assert.That(response.Headers.ETag?.ToString(), Is.EqualTo(etag), "a 304 carries the ETag a 200 would have");
            Assert.That(response.Headers.CacheControl?.Public, Is.True, "and its Cache-Control");
        });
    }

    private static async Task AssertFullAnswerAsync(HttpResponseMessage response, string because)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), because);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"), because);
        Assert.That(JsonNode.Parse(await response.Content.ReadAsStringAsync()), Is.Not.Null, because);
    }

    [TestCaseSource(nameof(Documents))]
    [Description("RFC 9110 §8.8.3: a strong validator, the same on every request while the document is unchanged; RFC 9111 §5.2.2.1 max-age")]
    public async Task ETag_IsStrongAndStableAcrossRequests(string path)
    {
        var first = await GetAsync(path);
        var second = await GetAsync(path);
        Assert.Multiple(() =>
        {
            Assert.That(first.Headers.ETag, Is.Not.Null);
            Assert.That(first.Headers.ETag!.IsWeak, Is.False, "strong: the bytes are the same");
            Assert.That(second.Headers.ETag?.ToString(), Is.EqualTo(first.Headers.ETag.ToString()));
            Assert.That(first.Headers.CacheControl?.Public, Is.True);
            Assert.That(first.Headers.CacheControl?.MaxAge,
                Is.EqualTo(path == Jwks ? SigningKeyStore.JwksMaxAge : Authly.Oidc.PublishedMetadata.MaxAge));
        });
    }

    [Test, Description("RFC 8414 §3: the three metadata paths serve one document, so one tag")]
    public async Task ETag_IsTheSameOnEveryMetadataPath()
    {
        var tags = new List<string>();
        foreach (var path in Documents.Skip(1)) tags.Add(await ETagAsync(path));
        Assert.That(tags.Distinct().Count(), Is.EqualTo(1), string.Join(", ", tags));
    }

    [TestCaseSource(nameof(Documents))]
    [Description("RFC 9110 §13.1.2: If-None-Match naming the current tag → 304 Not Modified, no body")]
    public async Task IfNoneMatch_WithTheCurrentTag_Returns304WithoutABody(string path)
    {
        var etag = await ETagAsync(path);
        await AssertNotModifiedAsync(await GetAsync(path, etag), etag, path);
    }

    [Test, Description("RFC 9110 §13.1.2: If-None-Match uses the weak comparison, so W/\"tag\" matches \"tag\"")]
    public async Task IfNoneMatch_WithTheWeakFormOfTheCurrentTag_Returns304()
    {
        var etag = await ETagAsync(Jwks);
        await AssertNotModifiedAsync(await GetAsync(Jwks, "W/" + etag), etag, "W/ form");
    }

    [Test, Description("RFC 9110 §13.1.2: \"*\" matches any current representation → 304")]
    public async Task IfNoneMatch_Star_Returns304()
    {
        var etag = await ETagAsync(Metadata);
        await AssertNotModifiedAsync(await GetAsync(Metadata, "*"), etag, "*");
    }

    [Test, Description("RFC 9110 §13.1.2: a list of tags (one field or several) matches when any member does")]
    public async Task IfNoneMatch_AListHoldingTheCurrentTag_Returns304()
    {
        var etag = await ETagAsync(Jwks);
        await AssertNotModifiedAsync(await GetAsync(Jwks, $"\"stale-1\", W/\"stale-2\", {etag}"), etag, "one field");
        await AssertNotModifiedAsync(await GetAsync(Jwks, "\"stale-1\"", etag), etag, "two fields");
    }

    [Test, Description("RFC 9110 §13.1.2: tags that do not match → the full 200")]
    public async Task IfNoneMatch_WithStaleTags_Returns200WithTheDocument()
    {
        await AssertFullAnswerAsync(await GetAsync(Jwks, "\"stale\""), "one stale tag");
        await AssertFullAnswerAsync(await GetAsync(Jwks, "\"stale-1\", W/\"stale-2\""), "a stale list");
    }

    [Test, Description("RFC 9110 §8.8.3: a key rotation is a new JWKS, so a new tag; the old one gets the full 200 with the new key; " +
        "the retired key stays published longer than a cache may keep the JWKS")]
    public async Task ETag_ChangesAfterAKeyRotation()
    {
        var before = await ETagAsync(Jwks);
        var keys = _app.Services.GetRequiredService<SigningKeyStore>();
        var rotated = await keys.RotateAsync(CancellationToken.None);

        var after = await GetAsync(Jwks, before);
        await AssertFullAnswerAsync(after, "the tag from before the rotation is stale");
        var body = JsonNode.Parse(await (await GetAsync(Jwks)).Content.ReadAsStringAsync())!;
        Assert.Multiple(() =>
        {
            Assert.That(after.Headers.ETag?.ToString(), Is.Not.EqualTo(before));
            Assert.That(body["keys"]!.AsArray().Select(k => (string?)k!["kid"]), Does.Contain(rotated.Kid));
        });
        var retired = (await keys.RingAsync(CancellationToken.None)).All.Where(k => !k.IsActive).ToList();
        Assert.That(retired, Is.Not.Empty);
        foreach (var key in retired)
            Assert.That(key.VerifyUntil - DateTime.UtcNow, Is.GreaterThan(SigningKeyStore.JwksMaxAge),
                $"retired key {key.Kid} would leave the JWKS before a cached copy expires");
    }

    [Test, Description("RFC 9110 §8.8.3: a scope activated or deactivated changes scopes_supported, so the metadata's tag")]
    public async Task ETag_ChangesWhenTheActiveScopesChange()
    {
        var before = await ETagAsync(Metadata);
        var scopes = _app.Services.GetRequiredService<ScopeStore>();
        Assert.That(await scopes.CreateAsync("rfc9110:etag", null, isDefault: false, isActive: true, CancellationToken.None), Is.Not.Null);

        var after = await GetAsync(Metadata, before);
        await AssertFullAnswerAsync(after, "the tag from before the change is stale");
        Assert.That(after.Headers.ETag?.ToString(), Is.Not.EqualTo(before));
        var body = JsonNode.Parse(await (await GetAsync(Metadata)).Content.ReadAsStringAsync())!;
        Assert.That(body["scopes_supported"]!.AsArray().Select(s => (string?)s), Does.Contain("rfc9110:etag"));
    }
}
