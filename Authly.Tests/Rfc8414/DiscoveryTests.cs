using System.Net;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc8414;

/// <summary>RFC 8414 authorization server metadata, OpenID Connect Discovery 1.0, and the JWKS (RFC 7517).</summary>
[TestFixture, Category("RFC8414")]
public sealed class DiscoveryTests : AppFixture
{
    private static readonly string[] MetadataPaths =
        ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/.well-known/openid_configuration"];

    // Endpoints that are called with POST; every other advertised endpoint is called with GET.
    private static readonly HashSet<string> PostEndpoints =
        ["token_endpoint", "revocation_endpoint", "introspection_endpoint", "device_authorization_endpoint", "registration_endpoint",
         "pushed_authorization_request_endpoint", "backchannel_authentication_endpoint"];

    private async Task<(HttpResponseMessage Response, JsonObject Body)> GetJsonAsync(string path)
    {
        var response = await _app.CreateClient().GetAsync(path);
        return (response, await AuthlyApp.JsonAsync(response));
    }

    private static IEnumerable<string> Strings(JsonNode? array) => array!.AsArray().Select(n => n!.GetValue<string>());

    [TestCase("/.well-known/openid-configuration")]
    [TestCase("/.well-known/oauth-authorization-server")]
    [TestCase("/.well-known/openid_configuration")]
    [Description("RFC 8414 §3.2; API.md: a direct 200 JSON document whose issuer is the configured one, byte for byte")]
    public async Task Metadata_IsServedDirectlyWithTheConfiguredIssuer(string path)
    {
        var (response, body) = await GetJsonAsync(path);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
            Assert.That(AuthlyApp.Str(body, "issuer"), Is.EqualTo(AuthlyApp.Issuer));
            Assert.That(AuthlyApp.Str(body, "token_endpoint"), Is.EqualTo(AuthlyApp.Issuer + "/api/v1/oauth/token"));
            Assert.That(AuthlyApp.Str(body, "jwks_uri"), Is.EqualTo(AuthlyApp.Issuer + "/.well-known/jwks.json"));
            Assert.That(AuthlyApp.Str(body, "revocation_endpoint"), Is.EqualTo(AuthlyApp.Issuer + "/api/v1/oauth/revoke"));
            Assert.That(AuthlyApp.Str(body, "introspection_endpoint"), Is.EqualTo(AuthlyApp.Issuer + "/api/v1/oauth/introspect"));
        });
    }

    [Test, Description("API.md: the same issuer and endpoints in both documents and the legacy alias")]
    public async Task Metadata_AllThreeDocuments_AreIdentical()
    {
        var docs = new List<JsonObject>();
        foreach (var path in MetadataPaths) docs.Add((await GetJsonAsync(path)).Body);
        Assert.That(JsonNode.DeepEquals(docs[0], docs[1]), Is.True, $"{docs[0]}\n{docs[1]}");
        Assert.That(JsonNode.DeepEquals(docs[0], docs[2]), Is.True, $"{docs[0]}\n{docs[2]}");
    }

    [Test, Description("RFC 8414 §2: required and API.md-listed members with their fixed values")]
    public async Task Metadata_HasRequiredMembersWithContractValues()
    {
        var (_, body) = await GetJsonAsync("/.well-known/oauth-authorization-server");
        Assert.Multiple(() =>
        {
            Assert.That(body.ContainsKey("response_types_supported"), Is.True, "REQUIRED by RFC 8414 §2");
            Assert.That(Strings(body["response_types_supported"]), Is.SubsetOf(new[] { "code" }), "OAuth 2.1: code only");
            Assert.That(Strings(body["code_challenge_methods_supported"]), Is.EqualTo(new[] { "S256" }));
            Assert.That(Strings(body["subject_types_supported"]), Is.EqualTo(new[] { "public" }));
            Assert.That(Strings(body["token_endpoint_auth_methods_supported"]),
                Is.EquivalentTo(new[] { "client_secret_basic", "client_secret_post", "none", "private_key_jwt" }), "issue 17 adds private_key_jwt");
            Assert.That(Strings(body["grant_types_supported"]), Does.Contain("client_credentials").And.Contain("refresh_token").And.Contain("password"));
            Assert.That(Strings(body["grant_types_supported"]), Does.Not.Contain("implicit"));
            Assert.That(Strings(body["scopes_supported"]), Does.Contain("openid").And.Contain("read"));
            Assert.That(Strings(body["id_token_signing_alg_values_supported"]), Does.Contain("RS256"));
            Assert.That(body["authorization_response_iss_parameter_supported"]?.GetValue<bool>(), Is.True);
        });
    }

    [Test, Description("RFC 8414 §2; API.md: advertise only endpoints that exist — each answers something other than 404/405")]
    public async Task Metadata_EveryAdvertisedEndpoint_Exists()
    {
        var (_, body) = await GetJsonAsync("/.well-known/openid-configuration");
        var endpoints = body.Where(p => p.Key.EndsWith("_endpoint", StringComparison.Ordinal) || p.Key is "jwks_uri" or "check_session_iframe").ToList();
        Assert.That(endpoints.Select(e => e.Key), Does.Contain("token_endpoint"));
        foreach (var (name, value) in endpoints)
        {
            var url = value!.GetValue<string>();
            Assert.That(url, Does.StartWith(AuthlyApp.Issuer + "/"), name);
            var path = url[AuthlyApp.Issuer.Length..];
            var response = PostEndpoints.Contains(name)
                ? await _app.CreateClient().PostAsync(path, AuthlyApp.Form(("probe", "1")))
                : await _app.CreateClient().GetAsync(path);
            Assert.That(response.StatusCode, Is.Not.EqualTo(HttpStatusCode.NotFound).And.Not.EqualTo(HttpStatusCode.MethodNotAllowed),
                $"{name} = {url} is advertised but not served");
        }
    }

    [Test, Description("RFC 8414 §2: a grant is usable only through its endpoint; advertise none whose endpoint is missing")]
    public async Task Metadata_AdvertisedGrantTypes_HaveTheirEndpoints()
    {
        var (_, body) = await GetJsonAsync("/.well-known/openid-configuration");
        var grants = Strings(body["grant_types_supported"]).ToList();
        Assert.Multiple(() =>
        {
            if (grants.Contains("authorization_code"))
            {
                Assert.That(body.ContainsKey("authorization_endpoint"), Is.True, "authorization_code is advertised without an authorization_endpoint");
                Assert.That(Strings(body["response_types_supported"]), Does.Contain("code"));
            }
            if (grants.Contains("urn:ietf:params:oauth:grant-type:device_code"))
                Assert.That(body.ContainsKey("device_authorization_endpoint"), Is.True, "device_code is advertised without a device_authorization_endpoint");
            if (body.ContainsKey("authorization_endpoint"))
                Assert.That(grants, Does.Contain("authorization_code"));
        });
    }

    [Test, Description("RFC 7517 §5; API.md: public signing keys only, with kty, use, alg and kid")]
    public async Task Jwks_HasPublicSigningKeysOnly()
    {
        var (response, body) = await GetJsonAsync("/.well-known/jwks.json");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body.Select(p => p.Key), Is.EqualTo(new[] { "keys" }));
        var keys = body["keys"]!.AsArray().Select(k => k!.AsObject()).ToList();
        Assert.That(keys, Is.Not.Empty);
        Assert.That(keys.Select(k => AuthlyApp.Str(k, "kid")), Is.Unique);
        foreach (var key in keys)
            Assert.Multiple(() =>
            {
                Assert.That(AuthlyApp.Str(key, "kty"), Is.AnyOf("RSA", "EC"), key.ToJsonString());
                Assert.That(AuthlyApp.Str(key, "use"), Is.EqualTo("sig"));
                Assert.That(AuthlyApp.Str(key, "alg"), Is.AnyOf("RS256", "ES256"));
                Assert.That(AuthlyApp.Str(key, "kid"), Is.Not.Empty);
                // RFC 7518 §6.3.2, §6.2.2, §6.4: private members of RSA, EC and symmetric keys.
                foreach (var secret in new[] { "d", "p", "q", "dp", "dq", "qi", "oth", "k" })
                    Assert.That(key.ContainsKey(secret), Is.False, $"private member '{secret}' published: {key.ToJsonString()}");
                if (AuthlyApp.Str(key, "kty") == "RSA")
                    Assert.That(key.ContainsKey("n") && key.ContainsKey("e"), Is.True);
            });
    }

    [Test, Description("API.md: JWKS carries Cache-Control: public, max-age")]
    public async Task Jwks_IsPubliclyCacheable()
    {
        var response = await _app.CreateClient().GetAsync("/.well-known/jwks.json");
        var cache = response.Headers.CacheControl;
        Assert.Multiple(() =>
        {
            Assert.That(cache?.Public, Is.True, "public");
            Assert.That(cache?.MaxAge, Is.Not.Null.And.GreaterThan(TimeSpan.Zero), "max-age");
            Assert.That(cache?.NoStore, Is.False);
        });
    }

    [Test, Description("RFC 8414 §3: metadata is read by browsers and other origins (API.md: CORS on discovery and JWKS)")]
    public async Task MetadataAndJwks_AllowCrossOriginReads()
    {
        foreach (var path in new[] { MetadataPaths[0], "/.well-known/jwks.json" })
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Origin", "https://app.example");
            var response = await _app.CreateClient().SendAsync(request);
            Assert.That(response.Headers.TryGetValues("Access-Control-Allow-Origin", out var origin) ? origin.Single() : null, Is.EqualTo("*"), path);
        }
    }
}
