using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Admin;

[TestFixture, Category("Admin")]
public sealed class ClientsAdminTests : AppFixture
{
    private HttpClient _admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _admin = await _app.AdminClientAsync("admin:clients:read admin:clients:write");
    }

    private static object Confidential(string scope = "read write") => new
    {
        client_name = "svc", client_type = "confidential", scope, grant_types = new[] { "client_credentials" },
    };

    private async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(HttpMethod method, string path, object? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = JsonContent.Create(json);
        var response = await _admin.SendAsync(request);
        return (response.StatusCode, await AuthlyApp.JsonAsync(response));
    }

    private async Task<(HttpStatusCode Status, JsonObject Body)> PostRawAsync(string path, string body)
    {
        var response = await _admin.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        return (response.StatusCode, await AuthlyApp.JsonAsync(response));
    }

    private async Task<JsonArray> ListAsync(string query = "")
    {
        var response = await _admin.GetAsync("/admin/clients?limit=1000" + query);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return JsonNode.Parse(body)!.AsArray();
    }

    private Task<HttpResponseMessage> ClientCredentialsAsync(string id, string secret)
    {
        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = AuthlyApp.Basic(id, secret);
        return http.PostAsync("/api/v1/oauth/token", AuthlyApp.Form(("grant_type", "client_credentials")));
    }

    private static IEnumerable<string> PropertyNames(JsonNode? node) => node switch
    {
        JsonObject o => o.SelectMany(p => PropertyNames(p.Value).Prepend(p.Key)),
        JsonArray a => a.SelectMany(PropertyNames),
        _ => [],
    };

    private static void AssertNoSecretFields(JsonNode node) =>
        Assert.That(PropertyNames(node).Where(n => n.Contains("secret", StringComparison.OrdinalIgnoreCase) || n.Contains("hash", StringComparison.OrdinalIgnoreCase)),
            Is.Empty, node.ToJsonString());

    // ---- create ----

    [Test]
    public async Task Create_ConfidentialClient_ReturnsExactlyIdSecretTypeAndName()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/admin/clients", Confidential());
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(body.Select(p => p.Key), Is.EquivalentTo(new[] { "client_id", "client_secret", "client_type", "client_name" }));
            Assert.That(AuthlyApp.Str(body, "client_id"), Is.Not.Empty);
            Assert.That(AuthlyApp.Str(body, "client_secret"), Has.Length.GreaterThanOrEqualTo(32));
            Assert.That(AuthlyApp.Str(body, "client_type"), Is.EqualTo("confidential"));
            Assert.That(AuthlyApp.Str(body, "client_name"), Is.EqualTo("svc"));
        });
    }

    [Test]
    public async Task Create_PublicClient_ReturnsNullSecret()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/admin/clients", new
        {
            client_name = "spa", client_type = "public", redirect_uris = new[] { "https://spa.example/cb" }, scope = "read",
        });
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(body.Select(p => p.Key), Is.EquivalentTo(new[] { "client_id", "client_secret", "client_type", "client_name" }));
            Assert.That(body.ContainsKey("client_secret") && body["client_secret"] is null, Is.True, "client_secret must be present and null");
            Assert.That(AuthlyApp.Str(body, "client_type"), Is.EqualTo("public"));
        });
    }

    [Test]
    public async Task Create_WithUnknownKeys_IgnoresThem()
    {
        var (status, body) = await PostRawAsync("/admin/clients",
            """{"client_name":"x","client_type":"confidential","grant_types":["client_credentials"],"no_such_field":[1,{"a":2}]}""");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
    }

    [Test]
    public async Task Create_ThenGet_ShowsTheRegistration()
    {
        var (_, created) = await SendAsync(HttpMethod.Post, "/admin/clients", new
        {
            client_name = "web app", client_type = "confidential", redirect_uris = new[] { "https://app.example/cb" },
            scope = "openid profile", grant_types = new[] { "authorization_code", "refresh_token" },
            token_endpoint_auth_method = "client_secret_post", client_uri = "https://app.example", contacts = new[] { "ops@app.example" },
            post_logout_redirect_uris = new[] { "https://app.example/bye" },
        });
        var id = AuthlyApp.Str(created, "client_id");
        var (status, body) = await SendAsync(HttpMethod.Get, $"/admin/clients/{id}");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(AuthlyApp.Str(body, "client_id"), Is.EqualTo(id));
            Assert.That(AuthlyApp.Str(body, "client_name"), Is.EqualTo("web app"));
            Assert.That(body["redirect_uris"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "https://app.example/cb" }));
            Assert.That(AuthlyApp.Str(body, "scope").Split(' '), Is.EquivalentTo(new[] { "openid", "profile" }));
            Assert.That(AuthlyApp.Str(body, "token_endpoint_auth_method"), Is.EqualTo("client_secret_post"));
            Assert.That(body["is_active"]!.GetValue<bool>(), Is.True);
            AssertNoSecretFields(body);
        });
    }

    [Test]
    public async Task List_AndShow_NeverContainSecretOrHashFields()
    {
        await SendAsync(HttpMethod.Post, "/admin/clients", Confidential());
        var (_, created) = await SendAsync(HttpMethod.Post, "/admin/clients", Confidential());
        var id = AuthlyApp.Str(created, "client_id");
        var list = await ListAsync("&include_inactive=true");
        var (_, shown) = await SendAsync(HttpMethod.Get, $"/admin/clients/{id}");
        Assert.Multiple(() =>
        {
            Assert.That(list.Select(c => c!["client_id"]!.GetValue<string>()), Does.Contain(id));
            AssertNoSecretFields(list);
            AssertNoSecretFields(shown);
            Assert.That(list.ToJsonString() + shown.ToJsonString(), Does.Not.Contain(AuthlyApp.Str(created, "client_secret")));
        });
    }

    [Test]
    public async Task Get_UnknownClient_Returns404WithDetail()
    {
        var (status, body) = await SendAsync(HttpMethod.Get, "/admin/clients/no-such-client");
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(AuthlyApp.Str(body, "detail"), Is.Not.Empty);
    }

    // ---- update ----

    [Test]
    public async Task Update_ChangesGivenFieldsOnly()
    {
        var (_, created) = await SendAsync(HttpMethod.Post, "/admin/clients", Confidential("read write"));
        var id = AuthlyApp.Str(created, "client_id");
        var (status, body) = await SendAsync(HttpMethod.Put, $"/admin/clients/{id}", new { client_name = "renamed", scope = "read" });
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(AuthlyApp.Str(body, "client_name"), Is.EqualTo("renamed"));
            Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"));
            Assert.That(body["grant_types"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "client_credentials" }));
            AssertNoSecretFields(body);
        });
    }

    [Test]
    public async Task Update_ClientType_Returns400NamingClientType()
    {
        var (_, created) = await SendAsync(HttpMethod.Post, "/admin/clients", Confidential());
        var (status, body) = await SendAsync(HttpMethod.Put, $"/admin/clients/{AuthlyApp.Str(created, "client_id")}", new { client_type = "public" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain("client_type"));
    }

    [Test]
    public async Task Update_UnknownClient_Returns404()
    {
        var (status, _) = await SendAsync(HttpMethod.Put, "/admin/clients/no-such-client", new { client_name = "x" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Update_ScopeRemoved_TakesEffectForTokensAtOnce()
    {
        var (_, created) = await SendAsync(HttpMethod.Post, "/admin/clients", Confidential("read write"));
        var (id, secret) = (AuthlyApp.Str(created, "client_id"), AuthlyApp.Str(created, "client_secret"));
        var before = await AuthlyApp.JsonAsync(await ClientCredentialsAsync(id, secret));
        Assert.That(AuthlyApp.Str(before, "scope"), Is.EqualTo("read write"));

        await SendAsync(HttpMethod.Put, $"/admin/clients/{id}", new { scope = "read" });

        var after = await AuthlyApp.JsonAsync(await ClientCredentialsAsync(id, secret));
        Assert.That(AuthlyApp.Str(after, "scope"), Is.EqualTo("read"));
    }

    // ---- delete ----

    [Test]
    public async Task Delete_DeactivatesClient_AndItCanNoLongerGetTokensAtOnce()
    {
        var (_, created) = await SendAsync(HttpMethod.Post, "/admin/clients", Confidential());
        var (id, secret) = (AuthlyApp.Str(created, "client_id"), AuthlyApp.Str(created, "client_secret"));
        // A first token request puts the client in the lookup cache; the deactivation must not wait for it to expire.
        Assert.That((await ClientCredentialsAsync(id, secret)).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var (status, _) = await SendAsync(HttpMethod.Delete, $"/admin/clients/{id}");
        var token = await ClientCredentialsAsync(id, secret);
        var (_, shown) = await SendAsync(HttpMethod.Get, $"/admin/clients/{id}");
        var active = await ListAsync();
        var all = await ListAsync("&include_inactive=true");
        await Assert.MultipleAsync(async () =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(token.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(token), "error"), Is.EqualTo("invalid_client"));
            Assert.That(shown["is_active"]!.GetValue<bool>(), Is.False);
            Assert.That(active.Select(c => c!["client_id"]!.GetValue<string>()), Does.Not.Contain(id));
            Assert.That(all.Select(c => c!["client_id"]!.GetValue<string>()), Does.Contain(id));
        });
    }

    [Test]
    public async Task Delete_UnknownClient_Returns404()
    {
        var (status, _) = await SendAsync(HttpMethod.Delete, "/admin/clients/no-such-client");
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    // ---- regenerate-secret ----

    [Test]
    public async Task RegenerateSecret_ReturnsItUnderBothNames_AndTheOldSecretStopsWorkingAtOnce()
    {
        var (_, created) = await SendAsync(HttpMethod.Post, "/admin/clients", Confidential());
        var (id, oldSecret) = (AuthlyApp.Str(created, "client_id"), AuthlyApp.Str(created, "client_secret"));
        Assert.That((await ClientCredentialsAsync(id, oldSecret)).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var (status, body) = await SendAsync(HttpMethod.Post, $"/admin/clients/{id}/regenerate-secret");
        var newSecret = AuthlyApp.Str(body, "client_secret");
        var withOld = await ClientCredentialsAsync(id, oldSecret);
        var withNew = await ClientCredentialsAsync(id, newSecret);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(body.Select(p => p.Key), Is.EquivalentTo(new[] { "client_id", "client_secret", "new_secret", "message" }));
            Assert.That(AuthlyApp.Str(body, "client_id"), Is.EqualTo(id));
            Assert.That(AuthlyApp.Str(body, "new_secret"), Is.EqualTo(newSecret));
            Assert.That(newSecret, Is.Not.EqualTo(oldSecret).And.Length.GreaterThanOrEqualTo(32));
            Assert.That(withOld.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(withNew.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task RegenerateSecret_ForPublicClient_Returns400()
    {
        var (_, created) = await SendAsync(HttpMethod.Post, "/admin/clients", new
        {
            client_name = "spa", client_type = "public", redirect_uris = new[] { "https://spa.example/cb" },
        });
        var (status, body) = await SendAsync(HttpMethod.Post, $"/admin/clients/{AuthlyApp.Str(created, "client_id")}/regenerate-secret");
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(AuthlyApp.Str(body, "detail"), Is.Not.Empty);
    }

    [Test]
    public async Task RegenerateSecret_UnknownClient_Returns404()
    {
        var (status, _) = await SendAsync(HttpMethod.Post, "/admin/clients/no-such-client/regenerate-secret");
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    // ---- validation ----

    [TestCase("public", "/callback", Description = "RFC 6749 §3.1.2: relative")]
    [TestCase("public", "callback")]
    [TestCase("confidential", "/callback")]
    [TestCase("public", "https://app.example/cb#section", Description = "RFC 6749 §3.1.2: no fragment")]
    [TestCase("confidential", "https://app.example/cb#")]
    [TestCase("public", "http://app.example/cb", Description = "RFC 8252 §8.3: public clients need https, loopback http or a private-use scheme")]
    [TestCase("public", "http://192.168.1.10/cb")]
    [TestCase("public", "myapp://cb", Description = "RFC 8252 §7.1: private-use schemes are reverse domain names")]
    [TestCase("confidential", "javascript:alert(1)")]
    public async Task Create_WithBadRedirectUri_Returns400NamingRedirectUris(string type, string uri)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/admin/clients", new
        {
            client_name = "x", client_type = type, redirect_uris = new[] { uri }, grant_types = new[] { "authorization_code" },
        });
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain(uri));
        Assert.That(AuthlyApp.Str(body, "field"), Is.EqualTo("redirect_uris"));
    }

    [TestCase("public", "https://app.example/cb")]
    [TestCase("public", "http://127.0.0.1:53682/cb", Description = "RFC 8252 §7.3: loopback")]
    [TestCase("public", "http://[::1]/cb")]
    [TestCase("public", "http://localhost:8080/cb")]
    [TestCase("public", "com.example.app:/oauth2redirect")]
    [TestCase("confidential", "http://app.example/cb")]
    [TestCase("confidential", "https://app.example/cb?tenant=1")]
    public async Task Create_WithGoodRedirectUri_Returns200(string type, string uri)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/admin/clients", new
        {
            client_name = "x", client_type = type, redirect_uris = new[] { uri }, grant_types = new[] { "authorization_code" },
        });
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
    }

    [Test]
    public async Task Create_WithUnknownScope_Returns400NamingTheScope()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/admin/clients", Confidential("read no-such-scope"));
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(AuthlyApp.Str(body, "field"), Is.EqualTo("scope"));
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain("no-such-scope"));
    }

    [TestCase("""{"client_type":"confidential"}""", "client_name")]
    [TestCase("""{"client_name":"","client_type":"confidential"}""", "client_name")]
    [TestCase("""{"client_name":"x","client_type":"secret"}""", "client_type")]
    [TestCase("""{"client_name":5,"client_type":"confidential"}""", "client_name")]
    [TestCase("""{"client_name":"x","client_type":"confidential","redirect_uris":"https://a.example/cb"}""", "redirect_uris")]
    [TestCase("""{"client_name":"x","client_type":"confidential","redirect_uris":[1]}""", "redirect_uris")]
    [TestCase("""{"client_name":"x","client_type":"confidential","require_pkce":"yes"}""", "require_pkce")]
    [TestCase("""{"client_name":"x","client_type":"confidential","grant_types":["implicit"]}""", "grant_types")]
    [TestCase("""{"client_name":"x","client_type":"confidential","scope":["read"]}""", "scope")]
    [TestCase("""{"client_name":"x","client_type":"confidential","token_endpoint_auth_method":"none"}""", "token_endpoint_auth_method")]
    [TestCase("""{"client_name":"x","client_type":"public","grant_types":["client_credentials"]}""", "grant_types")]
    [TestCase("""{"client_name":"x","client_type":"confidential","logo_uri":"javascript:alert(1)"}""", "logo_uri")]
    public async Task Create_WithInvalidField_Returns400NamingIt(string json, string field)
    {
        var (status, body) = await PostRawAsync("/admin/clients", json);
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain(field));
    }

    [TestCase("{\"client_name\":")]
    [TestCase("{\"client_name\":\"x\",}")]
    [TestCase("{client_name: 'x'}")]
    [TestCase("")]
    public async Task Create_WithMalformedJson_Returns400(string json)
    {
        var (status, body) = await PostRawAsync("/admin/clients", json);
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain("JSON"));
    }

    [TestCase("[]")]
    [TestCase("[{\"client_name\":\"x\"}]")]
    [TestCase("\"client\"")]
    [TestCase("42")]
    [TestCase("null")]
    public async Task Create_WithJsonThatIsNotAnObject_Returns400SayingSo(string json)
    {
        var (status, body) = await PostRawAsync("/admin/clients", json);
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain("JSON object"));
    }

    [Test]
    public async Task Create_WithFormBody_Returns415()
    {
        var response = await _admin.PostAsync("/admin/clients", AuthlyApp.Form(("client_name", "x"), ("client_type", "public")));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(response), "detail"), Is.Not.Empty);
    }

    [Test]
    public async Task Create_WithABodyOver1MiB_Returns413WithDetail()
    {
        // API.md: bodies over 1 MiB are refused with 413.
        var json = "{\"client_name\":\"" + new string('x', 1024 * 1024) + "\",\"client_type\":\"confidential\"}";
        var response = await _admin.PostAsync("/admin/clients", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(response), "detail"), Is.Not.Empty);
    }

    [TestCase("limit=0", "limit")]
    [TestCase("limit=5000", "limit")]
    [TestCase("limit=-1", "limit")]
    [TestCase("offset=-1", "offset")]
    [TestCase("limit=abc", "limit")]
    [TestCase("include_inactive=maybe", "include_inactive")]
    public async Task List_WithBadPaging_Returns400NamingTheParameter(string query, string field)
    {
        var response = await _admin.GetAsync("/admin/clients?" + query);
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain(field));
    }

    [Test]
    public async Task List_HonoursLimitAndOffset()
    {
        for (var i = 0; i < 3; i++) await SendAsync(HttpMethod.Post, "/admin/clients", Confidential());
        var all = await ListAsync();
        var page = await _admin.GetFromJsonAsync<JsonArray>("/admin/clients?limit=2&offset=1");
        Assert.That(page!.Select(c => c!["client_id"]!.GetValue<string>()),
            Is.EqualTo(all.Skip(1).Take(2).Select(c => c!["client_id"]!.GetValue<string>())));
    }
}
