using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.BadInput;

/// <summary>API.md: bodies over 1 MiB are refused with 413; a body of the wrong media type is a 400 invalid_request, never a 500.</summary>
[TestFixture, Category("BadInput")]
public sealed class RequestBodyTests : AppFixture
{
    private const int MiB = 1024 * 1024;
    private static readonly string[] OAuthPaths =
        ["/api/v1/oauth/token", "/api/v1/oauth/introspect", "/api/v1/oauth/revoke", "/api/v1/oauth/refresh", "/api/v1/oauth/device_authorization"];

    /// <summary>A form body of exactly <paramref name="length"/> bytes.</summary>
    private static string FormOfLength(int length)
    {
        const string prefix = "grant_type=nonsense&token=x&padding=";
        return prefix + new string('a', length - prefix.Length);
    }

    /// <summary>Content whose length is not known up front, so it goes out chunked, with no Content-Length to refuse early.</summary>
    private sealed class UnknownLengthContent(byte[] bytes, string mediaType) : HttpContent
    {
        public UnknownLengthContent Typed() { Headers.ContentType = new MediaTypeHeaderValue(mediaType); return this; }
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();
        protected override bool TryComputeLength(out long length) { length = 0; return false; }
    }

    private static async Task Assert413Async(HttpResponseMessage response, string path)
    {
        var raw = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge), $"{path}: {raw}");
        OAuthAssert.NothingInternal(raw);
    }

    [TestCaseSource(nameof(OAuthPaths)), Description("API.md: bodies over 1 MiB are refused with 413 (declared Content-Length)")]
    public async Task Endpoint_WithBodyOverOneMiB_Returns413(string path)
    {
        var contentType = path.EndsWith("/refresh") ? "application/json" : "application/x-www-form-urlencoded";
        var response = await _app.CreateClient().PostAsync(path, new StringContent(FormOfLength(MiB + 1), Encoding.ASCII, contentType));
        await Assert413Async(response, path);
    }

    [TestCaseSource(nameof(OAuthPaths)), Description("API.md: bodies over 1 MiB are refused with 413 (chunked, no Content-Length)")]
    public async Task Endpoint_WithChunkedBodyOverOneMiB_Returns413(string path)
    {
        var contentType = path.EndsWith("/refresh") ? "application/json" : "application/x-www-form-urlencoded";
        var body = path.EndsWith("/refresh")
            ? Encoding.UTF8.GetBytes("{\"grant_type\":\"refresh_token\",\"refresh_token\":\"" + new string('a', 2 * MiB) + "\"}")
            : Encoding.ASCII.GetBytes(FormOfLength(2 * MiB));
        var response = await _app.CreateClient().PostAsync(path, new UnknownLengthContent(body, contentType).Typed());
        await Assert413Async(response, path);
    }

    [Test, Description("API.md: the limit is over 1 MiB; a body of exactly 1 MiB is read and answered by the protocol")]
    public async Task TokenEndpoint_WithBodyOfExactlyOneMiB_IsProcessed()
    {
        var content = new StringContent(FormOfLength(MiB), Encoding.ASCII, "application/x-www-form-urlencoded");
        Assert.That(content.Headers.ContentLength ?? (await content.ReadAsByteArrayAsync()).Length, Is.EqualTo(MiB));
        var response = await _app.CreateClient().PostAsync("/api/v1/oauth/token", content);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "unsupported_grant_type");
    }

    [TestCase("/api/v1/oauth/token", "text/plain")]
    [TestCase("/api/v1/oauth/token", "application/json")]
    [TestCase("/api/v1/oauth/token", "application/xml")]
    [TestCase("/api/v1/oauth/token", "multipart/form-data; boundary=x")]
    [TestCase("/api/v1/oauth/token", "application/x-www-form-urlencodedx")]
    [TestCase("/api/v1/oauth/token", "application/x-www-form-urlencoded-evil; charset=utf-8")]
    [TestCase("/api/v1/oauth/token", "application/octet-stream")]
    [TestCase("/api/v1/oauth/introspect", "text/plain")]
    [TestCase("/api/v1/oauth/introspect", "application/json")]
    [TestCase("/api/v1/oauth/introspect", "application/x-www-form-urlencodedx")]
    [TestCase("/api/v1/oauth/revoke", "text/plain")]
    [TestCase("/api/v1/oauth/revoke", "multipart/form-data; boundary=x")]
    [TestCase("/api/v1/oauth/revoke", "application/x-www-form-urlencodedx")]
    [TestCase("/api/v1/oauth/device_authorization", "application/json")]
    [TestCase("/api/v1/oauth/device_authorization", "application/x-www-form-urlencodedx")]
    [TestCase("/api/v1/oauth/refresh", "application/x-www-form-urlencoded")]
    [TestCase("/api/v1/oauth/refresh", "text/plain")]
    [TestCase("/api/v1/oauth/refresh", "application/jsonx")]
    [Description("RFC 6749 §3.2, §5.2; API.md: a body of the wrong media type → 400 invalid_request")]
    public async Task Endpoint_WithWrongContentType_ReturnsInvalidRequest(string path, string contentType)
    {
        var content = new ByteArrayContent(Encoding.ASCII.GetBytes("grant_type=client_credentials&token=x"));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var response = await _app.CreateClient().PostAsync(path, content);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [TestCaseSource(nameof(OAuthPaths)), Description("RFC 6749 §3.2; API.md: no Content-Type at all → 400 invalid_request")]
    public async Task Endpoint_WithoutContentType_ReturnsInvalidRequest(string path)
    {
        var response = await _app.CreateClient().PostAsync(path, new ByteArrayContent(Encoding.ASCII.GetBytes("token=x")));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [TestCase("application/x-www-form-urlencoded; charset=utf-8")]
    [TestCase("APPLICATION/X-WWW-FORM-URLENCODED")]
    [Description("RFC 9110 §8.3.1: media type names are case-insensitive and may carry parameters")]
    public async Task TokenEndpoint_WithFormContentTypeVariants_IsRead(string contentType)
    {
        var content = new ByteArrayContent(Encoding.ASCII.GetBytes("grant_type=nonsense"));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var response = await _app.CreateClient().PostAsync("/api/v1/oauth/token", content);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "unsupported_grant_type");
    }

    [TestCase("grant_type=%ZZ")]
    [TestCase("grant_type=%")]
    [TestCase("=&=&&==")]
    [TestCase("%FF%FE=%C0%AF")]
    [TestCase("grant_type")]
    [Description("RFC 6749 §3.2: a garbled form is answered by the protocol, never a 500")]
    public async Task TokenEndpoint_WithGarbledForm_ReturnsOAuthError(string body)
    {
        var response = await _app.CreateClient().PostAsync("/api/v1/oauth/token", new StringContent(body, Encoding.ASCII, "application/x-www-form-urlencoded"));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), raw);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, System.Text.Json.Nodes.JsonNode.Parse(raw)!["error"]!.GetValue<string>());
        Assert.That(System.Text.Json.Nodes.JsonNode.Parse(raw)!["error"]!.GetValue<string>(), Is.AnyOf("invalid_request", "unsupported_grant_type"));
    }
}
