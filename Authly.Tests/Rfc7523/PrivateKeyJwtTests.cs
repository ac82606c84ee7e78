using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc7523;

/// <summary>
/// RFC 7523 §2.2 and §3, OIDC Core §9: private_key_jwt client authentication, at the token endpoint and at every
/// other endpoint that authenticates clients (introspection, revocation; PAR in Rfc9126). Assertions are built
/// with Microsoft.IdentityModel (<see cref="ClientKeyPair"/>).
/// </summary>
[TestFixture, Category("RFC7523")]
public sealed class PrivateKeyJwtTests : AppFixture
{
    private const string TokenEndpoint = AuthlyApp.Issuer + TokenPath;

    internal static async Task<string> CreateKeyClientAsync(AuthlyApp app, JsonObject jwks, string scope = "read introspect", object? extra = null)
    {
        var registration = new JsonObject
        {
            ["client_name"] = "key client", ["client_type"] = "confidential", ["scope"] = scope,
            ["token_endpoint_auth_method"] = "private_key_jwt", ["jwks"] = jwks,
            ["grant_types"] = new JsonArray("client_credentials", "refresh_token"),
        };
        if (extra is not null)
            foreach (var (k, v) in JsonSerializerNode(extra)) registration[k] = v?.DeepClone();
        var (id, secret) = await app.CreateClientAsync(registration);
        Assert.That(secret, Is.Null, "a private_key_jwt client gets no secret that could stand in for its key");
        return id;
    }

    private static JsonObject JsonSerializerNode(object o) => System.Text.Json.JsonSerializer.SerializeToNode(o)!.AsObject();

    private Task<HttpResponseMessage> ClientCredentialsAsync(string assertion, params (string, string)[] more) =>
        _app.PostFormAsync(TokenPath, [("grant_type", "client_credentials"), .. ClientKeyPair.Fields(assertion), .. more]);

    [TestCase("ES256"), TestCase("PS256"), TestCase("RS256")]
    [Description("RFC 7523 §2.2: client_assertion_type jwt-bearer with a client_assertion signed by a registered key authenticates the client")]
    public async Task TokenRequest_WithAssertionSignedByRegisteredKey_IssuesToken(string alg)
    {
        using var key = alg switch { "ES256" => ClientKeyPair.Es256(), "PS256" => ClientKeyPair.Ps256(), _ => ClientKeyPair.Rs256() };
        var clientId = await CreateKeyClientAsync(_app, ClientKeyPair.Jwks(key));
        var body = await OAuthAssert.TokenAsync(await ClientCredentialsAsync(key.Assertion(clientId, TokenEndpoint)));
        Assert.That(AuthlyApp.Str(body, "scope").Split(' '), Is.EquivalentTo(new[] { "read", "introspect" }));
    }

    [Test, Description("RFC 7523 §3 item 3: the issuer identifier is an audience the server accepts, as the token endpoint URL is")]
    public async Task TokenRequest_WithIssuerAsAudience_IssuesToken()
    {
        using var key = ClientKeyPair.Es256();
        var clientId = await CreateKeyClientAsync(_app, ClientKeyPair.Jwks(key));
        await OAuthAssert.TokenAsync(await ClientCredentialsAsync(key.Assertion(clientId, AuthlyApp.Issuer), ("client_id", clientId)));
    }

    [Test, Description("RFC 7523 §2.2 / RFC 7521 §4.2: a client_id that differs from the assertion's subject is refused")]
    public async Task TokenRequest_WithClientIdOtherThanAssertionSubject_IsInvalidClient()
    {
        using var key = ClientKeyPair.Es256();
        var clientId = await CreateKeyClientAsync(_app, ClientKeyPair.Jwks(key));
        var other = await CreateKeyClientAsync(_app, ClientKeyPair.Jwks(key));
        await OAuthAssert.InvalidClientAsync(await ClientCredentialsAsync(key.Assertion(clientId, TokenEndpoint), ("client_id", other)));
    }

    [Test, Description("RFC 6749 §2.3: a client registered for client_secret_basic cannot switch to an assertion, even a well-formed one")]
    public async Task TokenRequest_WithAssertionFromSecretClient_IsInvalidClient()
    {
        using var key = ClientKeyPair.Es256();
        var (id, _) = await _app.CreateConfidentialClientAsync();
        await OAuthAssert.InvalidClientAsync(await ClientCredentialsAsync(key.Assertion(id, TokenEndpoint)));
    }

    [Test, Description("RFC 6749 §2.3: one authentication method per request: an assertion with client_secret is invalid_request")]
    public async Task TokenRequest_WithAssertionAndSecret_IsInvalidRequest()
    {
        using var key = ClientKeyPair.Es256();
        var clientId = await CreateKeyClientAsync(_app, ClientKeyPair.Jwks(key));
        await OAuthAssert.ErrorAsync(await ClientCredentialsAsync(key.Assertion(clientId, TokenEndpoint), ("client_secret", "x")),
            HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 7523 §2.2: an unknown client_assertion_type is invalid_client")]
    public async Task TokenRequest_WithOtherAssertionType_IsInvalidClient()
    {
        using var key = ClientKeyPair.Es256();
        var clientId = await CreateKeyClientAsync(_app, ClientKeyPair.Jwks(key));
        await OAuthAssert.InvalidClientAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "client_credentials"),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"), ("client_assertion", key.Assertion(clientId, TokenEndpoint))));
    }

    [Test, Description("RFC 7662 §2.1 and RFC 7009 §2.1 authenticate clients as the token endpoint does: private_key_jwt works at both")]
    public async Task IntrospectionAndRevocation_WithAssertion_AuthenticateTheClient()
    {
        using var key = ClientKeyPair.Es256();
        var clientId = await CreateKeyClientAsync(_app, ClientKeyPair.Jwks(key));
        var token = AuthlyApp.Str(await OAuthAssert.TokenAsync(await ClientCredentialsAsync(key.Assertion(clientId, TokenEndpoint))), "access_token");

        var introspected = await _app.PostFormAsync(IntrospectPath, [("token", token), .. ClientKeyPair.Fields(key.Assertion(clientId, TokenEndpoint))]);
        var body = await AuthlyApp.JsonAsync(introspected);
        Assert.That(introspected.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(body["active"]!.GetValue<bool>(), Is.True);

        var revoked = await _app.PostFormAsync(RevokePath, [("token", token), .. ClientKeyPair.Fields(key.Assertion(clientId, TokenEndpoint))]);
        Assert.That(revoked.StatusCode, Is.EqualTo(HttpStatusCode.OK), await revoked.Content.ReadAsStringAsync());
        var after = await _app.PostFormAsync(IntrospectPath, [("token", token), .. ClientKeyPair.Fields(key.Assertion(clientId, TokenEndpoint))]);
        Assert.That((await AuthlyApp.JsonAsync(after))["active"]!.GetValue<bool>(), Is.False, "revoked with the assertion");
    }

    [Test, Description("OIDC Core §9 / RFC 7517 §4.5: with several registered keys, the one the kid names verifies")]
    public async Task TokenRequest_WithSecondOfTwoRegisteredKeys_IssuesToken()
    {
        using var first = ClientKeyPair.Es256();
        using var second = ClientKeyPair.Ps256();
        var clientId = await CreateKeyClientAsync(_app, ClientKeyPair.Jwks(first, second));
        await OAuthAssert.TokenAsync(await ClientCredentialsAsync(second.Assertion(clientId, TokenEndpoint)));
    }

    private static IEnumerable<TestCaseData> BadRegistrations()
    {
        using var key = ClientKeyPair.Es256();
        var withPrivate = ClientKeyPair.Jwks(key);
        withPrivate["keys"]![0]!["d"] = "AAAA";
        yield return new TestCaseData(new JsonObject { ["token_endpoint_auth_method"] = "private_key_jwt" }, "jwks").SetName("Registration_PrivateKeyJwtWithoutKeys_IsRefused");
        yield return new TestCaseData(new JsonObject { ["token_endpoint_auth_method"] = "private_key_jwt", ["jwks"] = withPrivate }, "jwks").SetName("Registration_JwksWithPrivateKey_IsRefused");
        yield return new TestCaseData(new JsonObject { ["token_endpoint_auth_method"] = "private_key_jwt", ["jwks"] = new JsonObject { ["keys"] = new JsonArray(new JsonObject { ["kty"] = "oct", ["k"] = "c2VjcmV0" }) } }, "jwks").SetName("Registration_JwksWithSymmetricKey_IsRefused");
        yield return new TestCaseData(new JsonObject { ["token_endpoint_auth_method"] = "private_key_jwt", ["jwks"] = ClientKeyPair.Jwks(key), ["jwks_uri"] = "https://rp.example/jwks" }, "jwks").SetName("Registration_JwksAndJwksUri_IsRefused");
        yield return new TestCaseData(new JsonObject { ["token_endpoint_auth_method"] = "private_key_jwt", ["jwks_uri"] = "ftp://rp.example/jwks" }, "jwks_uri").SetName("Registration_JwksUriNotHttp_IsRefused");
        yield return new TestCaseData(new JsonObject { ["token_endpoint_auth_method"] = "client_secret_basic", ["profile"] = "fapi1" }, "profile").SetName("Registration_UnknownProfile_IsRefused");
    }

    [TestCaseSource(nameof(BadRegistrations)), Description("RFC 7591 §2: jwks holds public keys only; jwks and jwks_uri are exclusive; bad input changes nothing")]
    public async Task Registration_WithBadKeys_IsRefusedAndCreatesNothing(JsonObject fields, string field)
    {
        var registration = new JsonObject { ["client_name"] = "bad keys", ["client_type"] = "confidential", ["scope"] = "read", ["grant_types"] = new JsonArray("client_credentials") };
        foreach (var (k, v) in fields) registration[k] = v?.DeepClone();
        var http = _app.BearerClient(await _app.AdminTokenAsync("admin:clients:write"));
        var before = await _app.StateSnapshotAsync();
        var response = await http.PostAsJsonAsync(AdminClientsPath, registration);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(400), body);
        Assert.That(body, Does.Contain(field));
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before), "a refused registration changes nothing");
    }

    [Test, Description("RFC 8414 §2: discovery names private_key_jwt and the assertion algorithms")]
    public async Task Discovery_AdvertisesPrivateKeyJwtAndItsAlgorithms()
    {
        var body = JsonNode.Parse(await _app.CreateClient().GetStringAsync("/.well-known/oauth-authorization-server"))!.AsObject();
        var methods = body["token_endpoint_auth_methods_supported"]!.AsArray().Select(n => n!.GetValue<string>());
        var algs = body["token_endpoint_auth_signing_alg_values_supported"]!.AsArray().Select(n => n!.GetValue<string>());
        var introspection = body["introspection_endpoint_auth_methods_supported"]!.AsArray().Select(n => n!.GetValue<string>());
        Assert.Multiple(() =>
        {
            Assert.That(methods, Does.Contain("private_key_jwt"));
            Assert.That(introspection, Does.Contain("private_key_jwt").And.Not.Contain("none"));
            Assert.That(algs, Is.EquivalentTo(new[] { "RS256", "PS256", "ES256" }));
        });
    }
}
