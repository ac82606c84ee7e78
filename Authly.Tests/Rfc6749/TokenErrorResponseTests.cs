using System.Net;
using System.Text;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc6749;

/// <summary>RFC 6749 §5.2 error responses of the token endpoint, and the request rules of §3.2.</summary>
[TestFixture, Category("RFC6749")]
public sealed class TokenErrorResponseTests : AppFixture
{
    private string _clientId = null!;
    private string _secret = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        (_clientId, var secret) = await _app.CreateConfidentialClientAsync();
        _secret = secret!;
    }

    private Task<HttpResponseMessage> PostAsClientAsync(HttpContent content)
    {
        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = AuthlyApp.Basic(_clientId, _secret);
        return http.PostAsync(TokenPath, content);
    }

    [Test, Description("RFC 6749 §4.4.2, §5.2")]
    public async Task TokenRequest_WithoutGrantType_ReturnsInvalidRequest()
    {
        var response = await PostAsClientAsync(AuthlyApp.Form(("scope", "read")));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 6749 §5.2")]
    public async Task TokenRequest_WithEmptyGrantType_ReturnsInvalidRequest()
    {
        var response = await PostAsClientAsync(AuthlyApp.Form(("grant_type", "")));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [TestCase("implicit")]
    [TestCase("urn:ietf:params:oauth:grant-type:jwt-bearer")]
    [TestCase("CLIENT_CREDENTIALS")]
    [TestCase("client_credentials ")]
    [Description("RFC 6749 §5.2")]
    public async Task TokenRequest_WithUnknownGrantType_ReturnsUnsupportedGrantType(string grantType)
    {
        var response = await PostAsClientAsync(AuthlyApp.Form(("grant_type", grantType)));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "unsupported_grant_type");
    }

    [Test, Description("RFC 6749 §5.2")]
    public async Task TokenRequest_WithUnknownGrantTypeAndNoClient_ReturnsUnsupportedGrantType()
    {
        var response = await _app.PostFormAsync(TokenPath, ("grant_type", "implicit"));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "unsupported_grant_type");
    }

    [TestCase("grant_type=client_credentials&grant_type=client_credentials")]
    [TestCase("grant_type=client_credentials&scope=read&scope=write")]
    [TestCase("grant_type=client_credentials&scope=read&scope=read")]
    [TestCase("grant_type=client_credentials&scope=&scope=read")]
    [Description("RFC 6749 §3.2: request and response parameters MUST NOT be included more than once")]
    public async Task TokenRequest_WithRepeatedParameter_ReturnsInvalidRequest(string body)
    {
        var response = await PostAsClientAsync(new StringContent(body, Encoding.ASCII, "application/x-www-form-urlencoded"));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 6749 §3.2: repeated parameters are refused for requests without a client too")]
    public async Task PasswordRequest_WithRepeatedUsername_ReturnsInvalidRequest()
    {
        var response = await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", AuthlyApp.AdminUsername),
            ("username", "someone-else"), ("password", AuthlyApp.AdminPassword));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 6749 §4.4.2: the token request is application/x-www-form-urlencoded")]
    public async Task TokenRequest_WithJsonBody_ReturnsInvalidRequest()
    {
        var response = await PostAsClientAsync(new StringContent("""{"grant_type":"client_credentials","scope":"read"}""",
            Encoding.UTF8, "application/json"));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [TestCase("read\"write")]
    [TestCase("read\\")]
    [TestCase("read\twrite")]
    [TestCase("r\u00e9ad")]
    [TestCase("read\u0001")]
    [Description("RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ); §5.2 invalid_scope")]
    public async Task TokenRequest_WithMalformedScope_ReturnsInvalidScope(string scope)
    {
        var response = await PostAsClientAsync(AuthlyApp.Form(("grant_type", "client_credentials"), ("scope", scope)));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_scope");
    }

    [Test, Description("RFC 6749 §5.2")]
    public async Task ErrorResponse_Always_HasOnlyErrorAndDescriptionAndNoStoreHeaders()
    {
        var response = await PostAsClientAsync(AuthlyApp.Form(("grant_type", "client_credentials"), ("scope", "no-such-scope")));
        var body = await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_scope");
        Assert.Multiple(() =>
        {
            Assert.That(body.Select(p => p.Key), Is.EquivalentTo(new[] { "error", "error_description" }));
            // The private detail (which scopes, which client) stays in the log.
            Assert.That(AuthlyApp.Str(body, "error_description"), Does.Not.Contain(_clientId).And.Not.Contain("no-such-scope"));
            Assert.That(response.Headers.Contains("Retry-After"), Is.False);
        });
    }

    [Test, Description("RFC 6749 §5.2: an error is JSON even when the request was not a form")]
    public async Task TokenRequest_WithUnreadableBody_ReturnsJsonErrorWithoutInternalDetail()
    {
        var response = await PostAsClientAsync(new ByteArrayContent([0xff, 0xfe, 0x00, 0x01]));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 6749 §3.2: the client MUST use POST")]
    public async Task TokenEndpoint_WithGet_IsNotServed()
    {
        var response = await _app.CreateClient().GetAsync(TokenPath + "?grant_type=client_credentials");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
    }
}
