using System.Net;
using Authly.Tests.Infrastructure;
using static Authly.Tests.Infrastructure.Issue18Clients;

namespace Authly.Tests.Rfc7591;

/// <summary>RFC 7591 dynamic client registration in the default mode, AUTHLY_REGISTRATION=token.</summary>
[TestFixture, Category("RFC7591")]
public sealed class DynamicRegistrationTests : AppFixture
{
    [Test, Description("RFC 7591 §3.2.1: 201 with client_id, the secret once, registration_access_token and registration_client_uri")]
    public async Task Register_WithInitialAccessToken_Returns201WithCredentialsThatWork()
    {
        var response = await RegisterRawAsync(_app, new
        {
            client_name = "Billing", grant_types = new[] { "client_credentials" }, response_types = Array.Empty<string>(), scope = "read",
            jwks_uri = "https://billing.example/jwks", // §2: unsupported metadata is ignored
        }, await InitialAccessTokenAsync(_app));
        var body = await AuthlyApp.JsonAsync(response);
        var clientId = AuthlyApp.Str(body, "client_id");
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToJsonString());
            OAuthAssert.NoStore(response);
            Assert.That(AuthlyApp.Str(body, "client_secret"), Is.Not.Empty);
            Assert.That(body["client_secret_expires_at"]!.GetValue<long>(), Is.EqualTo(0));
            Assert.That(body["client_id_issued_at"]!.GetValue<long>(), Is.GreaterThan(0));
            Assert.That(AuthlyApp.Str(body, "registration_access_token"), Is.Not.Empty);
            Assert.That(AuthlyApp.Str(body, "registration_client_uri"), Is.EqualTo($"{AuthlyApp.Issuer}{RegisterPath}/{clientId}"));
            Assert.That(AuthlyApp.Str(body, "token_endpoint_auth_method"), Is.EqualTo("client_secret_basic"));
            Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"));
            Assert.That(body.ContainsKey("jwks_uri"), Is.False);
        });
        var token = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(clientId, AuthlyApp.Str(body, "client_secret")),
            ("grant_type", "client_credentials")));
        Assert.That(AuthlyApp.Str(token, "scope"), Is.EqualTo("read"));
        var stored = await _app.SqlScalarAsync<long>("SELECT count(*) FROM client_registrations r JOIN clients c ON c.id = r.client_id WHERE c.client_id = @Id", new { Id = clientId });
        Assert.That(stored, Is.EqualTo(1));
    }

    [Test, Description("RFC 7591 §2: a public native client (token_endpoint_auth_method none) with a loopback redirect gets no secret")]
    public async Task Register_PublicClient_GetsNoSecret()
    {
        var body = await RegisterAsync(_app, new
        {
            client_name = "CLI", token_endpoint_auth_method = "none", redirect_uris = new[] { "http://127.0.0.1/callback" },
            application_type = "native", scope = "openid",
        });
        Assert.Multiple(() =>
        {
            Assert.That(body.ContainsKey("client_secret"), Is.False);
            Assert.That(body.ContainsKey("client_secret_expires_at"), Is.False);
            Assert.That(AuthlyApp.Str(body, "token_endpoint_auth_method"), Is.EqualTo("none"));
            Assert.That(body["grant_types"]!.AsArray().Select(g => g!.GetValue<string>()), Is.EqualTo(new[] { "authorization_code" }));
            Assert.That(body["response_types"]!.AsArray().Select(g => g!.GetValue<string>()), Is.EqualTo(new[] { "code" }));
        });
    }

    [Test, Description("RFC 7591 §3 / RFC 6750 §3.1: without an initial access token, 401 invalid_token, and no client")]
    public async Task Register_WithoutInitialAccessToken_Returns401InvalidToken()
    {
        var before = await _app.StateSnapshotAsync();
        var response = await RegisterRawAsync(_app, new { client_name = "x", grant_types = new[] { "client_credentials" }, response_types = Array.Empty<string>() }, null);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_token");
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer"));
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
    }

    [TestCase("https://app.example/cb#frag", TestName = "Register_RedirectUriWithFragment_ReturnsInvalidRedirectUri")]
    [TestCase("/relative/cb", TestName = "Register_RelativeRedirectUri_ReturnsInvalidRedirectUri")]
    [TestCase("http://app.example/cb", TestName = "Register_ConfidentialClientWithHttpRedirect_ReturnsInvalidRedirectUri")]
    [Description("RFC 7591 §3.2.2 invalid_redirect_uri; the admin API's redirect rules, plus https for a self-registered confidential client")]
    public async Task Register_BadRedirectUri_ReturnsInvalidRedirectUri(string uri)
    {
        var token = await InitialAccessTokenAsync(_app);
        var before = await _app.StateSnapshotAsync();
        var response = await RegisterRawAsync(_app, new { client_name = "x", redirect_uris = new[] { uri } }, token);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_redirect_uri");
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
    }

    [TestCase("{\"client_name\":\"x\",\"grant_types\":[\"password\"],\"response_types\":[]}", TestName = "Register_PasswordGrant_ReturnsInvalidClientMetadata")]
    [TestCase("{\"client_name\":\"x\",\"grant_types\":[\"implicit\"],\"response_types\":[]}", TestName = "Register_UnknownGrant_ReturnsInvalidClientMetadata")]
    [TestCase("{\"client_name\":\"x\",\"grant_types\":[\"client_credentials\"],\"response_types\":[\"code\"]}", TestName = "Register_ResponseTypesNotMatchingGrants_ReturnsInvalidClientMetadata")]
    [TestCase("{\"client_name\":\"x\",\"token_endpoint_auth_method\":\"private_key_jwt\",\"grant_types\":[\"client_credentials\"],\"response_types\":[]}", TestName = "Register_UnsupportedAuthMethod_ReturnsInvalidClientMetadata")]
    [TestCase("{\"client_name\":\"x\",\"grant_types\":[\"client_credentials\"],\"response_types\":[],\"scope\":\"no-such-scope\"}", TestName = "Register_UnknownScope_ReturnsInvalidClientMetadata")]
    [TestCase("{\"client_name\":\"x\",\"token_endpoint_auth_method\":\"none\",\"grant_types\":[\"client_credentials\"],\"response_types\":[]}", TestName = "Register_PublicClientCredentials_ReturnsInvalidClientMetadata")]
    [Description("RFC 7591 §3.2.2 invalid_client_metadata, from the admin API's rules and the self-registration rules; nothing is created")]
    public async Task Register_BadMetadata_ReturnsInvalidClientMetadata(string json)
    {
        var token = await InitialAccessTokenAsync(_app);
        var before = await _app.StateSnapshotAsync();
        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var response = await http.PostAsync(RegisterPath, new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_client_metadata");
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
    }

    [Test, Description("RFC 7591 §3.2.2 invalid_software_statement: this server accepts no software statement")]
    public async Task Register_WithSoftwareStatement_ReturnsInvalidSoftwareStatement()
    {
        var response = await RegisterRawAsync(_app, new { client_name = "x", software_statement = "eyJhbGciOiJub25lIn0.e30." }, await InitialAccessTokenAsync(_app));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_software_statement");
    }

    [Test, Description("RFC 7591 §3.1: the body is JSON; anything else is invalid_request and changes nothing")]
    public async Task Register_BodyNotJson_ReturnsInvalidRequest()
    {
        var token = await InitialAccessTokenAsync(_app);
        var before = await _app.StateSnapshotAsync();
        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);
        var response = await http.PostAsync(RegisterPath, new StringContent("{not json", System.Text.Encoding.UTF8, "application/json"));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
    }

    [Test, Description("RFC 8414 §2: registration_endpoint is listed when registration is not closed")]
    public async Task Discovery_ListsRegistrationEndpoint()
    {
        var doc = await AuthlyApp.JsonAsync(await _app.CreateClient().GetAsync("/.well-known/openid-configuration"));
        Assert.That(AuthlyApp.Str(doc, "registration_endpoint"), Is.EqualTo(AuthlyApp.Issuer + RegisterPath));
    }
}

/// <summary>RFC 7591 with AUTHLY_REGISTRATION=open: anyone registers (rate limited), under the same rules.</summary>
[TestFixture, Category("RFC7591")]
public sealed class OpenRegistrationTests : AppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["AUTHLY_REGISTRATION"] = "open" };

    [Test, Description("RFC 7591 §3: open registration needs no initial access token")]
    public async Task Register_WithoutToken_WhenOpen_Returns201()
    {
        var response = await RegisterRawAsync(_app, new { client_name = "open", grant_types = new[] { "client_credentials" }, response_types = Array.Empty<string>(), scope = "read" }, null);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
    }
}

/// <summary>RFC 7591 with AUTHLY_REGISTRATION=closed: the endpoint is not served and not advertised.</summary>
[TestFixture, Category("RFC7591")]
public sealed class ClosedRegistrationTests : AppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["AUTHLY_REGISTRATION"] = "closed" };

    [Test, Description("RFC 7591 §3 is optional: closed means no endpoint (404) and no registration_endpoint in discovery (RFC 8414 §2)")]
    public async Task Register_WhenClosed_Returns404AndIsNotAdvertised()
    {
        var token = await InitialAccessTokenAsync(_app);
        var before = await _app.StateSnapshotAsync();
        var response = await RegisterRawAsync(_app, new { client_name = "x" }, token);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var doc = await AuthlyApp.JsonAsync(await _app.CreateClient().GetAsync("/.well-known/openid-configuration"));
        Assert.That(doc.ContainsKey("registration_endpoint"), Is.False);
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
    }
}
