using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc6749;

/// <summary>RFC 6749 §2.3 client authentication at the token endpoint.</summary>
[TestFixture, Category("RFC6749")]
public sealed class ClientAuthenticationTests : AppFixture
{
    private static readonly (string, string)[] ClientCredentials = [("grant_type", "client_credentials"), ("scope", "read")];

    private async Task<HttpResponseMessage> PostWithHeaderAsync(AuthenticationHeaderValue header, params (string, string)[] fields)
    {
        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = header;
        return await http.PostAsync(TokenPath, AuthlyApp.Form(fields));
    }

    [Test, Description("RFC 6749 §2.3.1 client_secret_basic")]
    public async Task TokenRequest_WithBasicCredentials_Succeeds()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync();
        var response = await PostWithHeaderAsync(AuthlyApp.Basic(id, secret!), ClientCredentials);
        var body = await OAuthAssert.TokenAsync(response);
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"));
    }

    [Test, Description("RFC 6749 §2.3.1 client_secret_post")]
    public async Task TokenRequest_WithPostCredentials_WhenRegisteredForPost_Succeeds()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(authMethod: "client_secret_post");
        var response = await _app.PostFormAsync(TokenPath, [.. ClientCredentials, ("client_id", id), ("client_secret", secret!)]);
        await OAuthAssert.TokenAsync(response);
    }

    [Test, Description("RFC 6749 §2.3.1, §5.2: invalid_client is 401 with WWW-Authenticate")]
    public async Task TokenRequest_WithWrongBasicSecret_ReturnsInvalidClient401WithChallenge()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync();
        var response = await PostWithHeaderAsync(AuthlyApp.Basic(id, secret + "x"), ClientCredentials);
        var body = await OAuthAssert.InvalidClientAsync(response);
        Assert.That(body.ToJsonString(), Does.Not.Contain(id).And.Not.Contain("secret"));
    }

    [Test, Description("RFC 6749 §5.2")]
    public async Task TokenRequest_WithWrongPostSecret_ReturnsInvalidClient401()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(authMethod: "client_secret_post");
        var response = await _app.PostFormAsync(TokenPath, [.. ClientCredentials, ("client_id", id), ("client_secret", secret![..^1])]);
        await OAuthAssert.InvalidClientAsync(response);
    }

    [Test, Description("RFC 6749 §5.2: unknown client")]
    public async Task TokenRequest_WithUnknownBasicClient_ReturnsInvalidClient401()
    {
        var response = await PostWithHeaderAsync(AuthlyApp.Basic("authly_no_such_client", "whatever"), ClientCredentials);
        var body = await OAuthAssert.InvalidClientAsync(response);
        Assert.That(body.ToJsonString(), Does.Not.Contain("authly_no_such_client"));
    }

    [Test, Description("RFC 6749 §5.2: unknown client")]
    public async Task TokenRequest_WithUnknownPostClient_ReturnsInvalidClient401()
    {
        var response = await _app.PostFormAsync(TokenPath, [.. ClientCredentials, ("client_id", "authly_no_such_client"), ("client_secret", "x")]);
        await OAuthAssert.InvalidClientAsync(response);
    }

    [Test, Description("RFC 6749 §5.2: unknown and wrong-secret answers are indistinguishable")]
    public async Task TokenRequest_UnknownClientAndWrongSecret_ReturnIdenticalBodies()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync();
        var wrong = await PostWithHeaderAsync(AuthlyApp.Basic(id, secret + "x"), ClientCredentials);
        var unknown = await PostWithHeaderAsync(AuthlyApp.Basic("authly_no_such_client", "x"), ClientCredentials);
        Assert.That(await unknown.Content.ReadAsStringAsync(), Is.EqualTo(await wrong.Content.ReadAsStringAsync()));
    }

    [Test, Description("RFC 6749 §2.3, API.md: a client must use the method it was registered with")]
    public async Task TokenRequest_WithPostCredentials_WhenRegisteredForBasic_ReturnsInvalidClient401()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(authMethod: "client_secret_basic");
        var response = await _app.PostFormAsync(TokenPath, [.. ClientCredentials, ("client_id", id), ("client_secret", secret!)]);
        await OAuthAssert.InvalidClientAsync(response);
    }

    [Test, Description("RFC 6749 §2.3, API.md: a client must use the method it was registered with")]
    public async Task TokenRequest_WithBasicCredentials_WhenRegisteredForPost_ReturnsInvalidClient401()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(authMethod: "client_secret_post");
        var response = await PostWithHeaderAsync(AuthlyApp.Basic(id, secret!), ClientCredentials);
        await OAuthAssert.InvalidClientAsync(response);
    }

    [Test, Description("RFC 6749 §2.3: a confidential client sending only its client_id has not authenticated")]
    public async Task TokenRequest_WithClientIdOnly_ForConfidentialClient_ReturnsInvalidClient401()
    {
        var (id, _) = await _app.CreateConfidentialClientAsync();
        var response = await _app.PostFormAsync(TokenPath, [.. ClientCredentials, ("client_id", id)]);
        await OAuthAssert.InvalidClientAsync(response);
    }

    [Test, Description("RFC 6749 §2.3: the client MUST NOT use more than one authentication method in each request")]
    public async Task TokenRequest_WithBasicAndPostCredentials_ReturnsInvalidRequest()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync();
        var response = await PostWithHeaderAsync(AuthlyApp.Basic(id, secret!), [.. ClientCredentials, ("client_id", id), ("client_secret", secret!)]);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 6749 §2.3: a form client_id naming another client next to Basic is a second method")]
    public async Task TokenRequest_WithBasicAndDifferentFormClientId_ReturnsInvalidRequest()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync();
        var (other, _) = await _app.CreateConfidentialClientAsync();
        var response = await PostWithHeaderAsync(AuthlyApp.Basic(id, secret!), [.. ClientCredentials, ("client_id", other)]);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 6749 §2.3.1: client_id and client_secret are form-url-encoded before Basic encoding")]
    public async Task TokenRequest_WithBasicSecretContainingSpecialCharacters_DecodesFormUrlEncoding()
    {
        var (id, _) = await _app.CreateConfidentialClientAsync();
        // A secret with every character class §2.3.1 makes the client encode: ':' (the Basic separator), '%', '+', space, '/', '&', '=', non-ASCII.
        const string secret = "p@ss:w%rd+ wö/&=\"ü€";
        // Set before the client is ever looked up, so no cached row can hide it.
        await _app.SqlScalarAsync<int>("UPDATE clients SET client_secret_hash = @Hash WHERE client_id = @Id RETURNING 1",
            new { Hash = SHA256.HashData(Encoding.UTF8.GetBytes(secret)), Id = id });

        // application/x-www-form-urlencoded: space becomes '+', everything else reserved is %XX (UTF-8).
        var encoded = WebEncodedForm(secret);
        Assert.That(encoded, Does.Contain("%3A").And.Contain("%25").And.Contain("%2B").And.Contain("+"));
        var header = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{id}:{encoded}")));
        await OAuthAssert.TokenAsync(await PostWithHeaderAsync(header, ClientCredentials));

        // Percent-encoding characters that need none must decode to the same secret.
        var everyByte = string.Concat(Encoding.UTF8.GetBytes(secret).Select(b => $"%{b:X2}"));
        header = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{id}:{everyByte}")));
        await OAuthAssert.TokenAsync(await PostWithHeaderAsync(header, ClientCredentials));

        // The raw secret (':' unencoded splits it, '+' would read as a space) must not authenticate.
        header = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{id}:{secret}")));
        await OAuthAssert.InvalidClientAsync(await PostWithHeaderAsync(header, ClientCredentials));
    }

    [Test, Description("RFC 6749 §2.3.1: an encoded client id decodes too")]
    public async Task TokenRequest_WithPercentEncodedClientIdInBasic_Succeeds()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync();
        var encodedId = string.Concat(Encoding.UTF8.GetBytes(id).Select(b => $"%{b:X2}"));
        var header = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{encodedId}:{secret}")));
        await OAuthAssert.TokenAsync(await PostWithHeaderAsync(header, ClientCredentials));
    }

    [TestCase("not base64!")]
    [TestCase("Zm9v")] // "foo": no colon
    [TestCase("OnNlY3JldA==")] // ":secret": no client id
    [Description("RFC 6749 §2.3.1, §5.2: malformed Basic credentials are a failed client authentication")]
    public async Task TokenRequest_WithMalformedBasicHeader_ReturnsInvalidClient401(string parameter)
    {
        var response = await PostWithHeaderAsync(new AuthenticationHeaderValue("Basic", parameter), ClientCredentials);
        await OAuthAssert.InvalidClientAsync(response);
    }

    [Test, Description("RFC 6749 §4.4.2: the client MUST authenticate; a public client cannot")]
    public async Task ClientCredentialsRequest_FromPublicClient_ReturnsInvalidClient()
    {
        var (id, secret) = await _app.CreateClientAsync(new
        {
            client_name = "public test client", client_type = "public", scope = "read",
            grant_types = new[] { "password", "refresh_token" },
        });
        Assert.That(secret, Is.Null);
        var response = await _app.PostFormAsync(TokenPath, [.. ClientCredentials, ("client_id", id)]);
        await OAuthAssert.InvalidClientAsync(response);
    }

    [Test, Description("RFC 6749 §4.4.2: no client at all")]
    public async Task ClientCredentialsRequest_WithoutAnyClient_ReturnsInvalidClient()
    {
        var response = await _app.PostFormAsync(TokenPath, ClientCredentials);
        await OAuthAssert.InvalidClientAsync(response);
    }

    [Test, Description("RFC 6749 §2.3: a deactivated client no longer authenticates")]
    public async Task TokenRequest_FromDeactivatedClient_ReturnsInvalidClient401()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync();
        var admin = _app.BearerClient(await _app.AdminTokenAsync("admin:clients:write"));
        Assert.That((await admin.DeleteAsync($"/admin/clients/{id}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var response = await PostWithHeaderAsync(AuthlyApp.Basic(id, secret!), ClientCredentials);
        await OAuthAssert.InvalidClientAsync(response);
    }

    private static string WebEncodedForm(string value) =>
        string.Concat(Encoding.UTF8.GetBytes(value).Select(b => b switch
        {
            (byte)' ' => "+",
            _ when char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'*' => ((char)b).ToString(),
            _ => $"%{b:X2}",
        }));
}
