using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Admin;

[TestFixture, Category("Admin")]
public sealed class ScopesAdminTests : AppFixture
{
    private HttpClient _admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _admin = await _app.AdminClientAsync("admin:scopes:read admin:scopes:write");
    }

    private static string UniqueName(string prefix = "test") => $"{prefix}:{Guid.NewGuid().ToString("N")[..8]}";

    private async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(HttpMethod method, string path, object? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = JsonContent.Create(json);
        var response = await _admin.SendAsync(request);
        return (response.StatusCode, await AuthlyApp.JsonAsync(response));
    }

    private async Task<JsonObject> CreateAsync(string name, bool isDefault = false, bool isActive = true, string? description = "a test scope")
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/admin/scopes", new { scope_name = name, description, is_default = isDefault, is_active = isActive });
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        return body;
    }

    private async Task<string[]> ListNamesAsync(string path)
    {
        var response = await _admin.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return JsonNode.Parse(body)!.AsArray().Select(s => s!["scope_name"]!.GetValue<string>()).ToArray();
    }

    [Test]
    public async Task Create_NameWithColons_ReturnsTheScope()
    {
        var name = UniqueName("api:orders");
        var body = await CreateAsync(name, isDefault: true, description: "Orders API");
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(body, "scope_name"), Is.EqualTo(name));
            Assert.That(AuthlyApp.Str(body, "description"), Is.EqualTo("Orders API"));
            Assert.That(body["is_default"]!.GetValue<bool>(), Is.True);
            Assert.That(body["is_active"]!.GetValue<bool>(), Is.True);
            Assert.That(body.ContainsKey("id") && body.ContainsKey("created_at") && body.ContainsKey("updated_at"), Is.True, body.ToJsonString());
        });
    }

    [Test]
    public async Task Create_WithoutFlags_IsActiveAndNotDefault()
    {
        var name = UniqueName();
        var (status, body) = await SendAsync(HttpMethod.Post, "/admin/scopes", new { scope_name = name });
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(body["is_active"]!.GetValue<bool>(), Is.True);
        Assert.That(body["is_default"]!.GetValue<bool>(), Is.False);
    }

    [TestCase("two words", Description = "RFC 6749 §3.3: a scope token has no spaces")]
    [TestCase("quote\"d")]
    [TestCase("back\\slash")]
    [TestCase("tab\there")]
    [TestCase("caf\u00e9")]
    [TestCase("")]
    [TestCase("   ")]
    public async Task Create_WithInvalidName_Returns400NamingScopeName(string name)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/admin/scopes", new { scope_name = name });
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain("scope_name"));
    }

    [Test]
    public async Task Create_NameLongerThan100_Returns400()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/admin/scopes", new { scope_name = new string('s', 101) });
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain("scope_name"));
    }

    [Test]
    public async Task Create_Duplicate_Returns400AndKeepsTheFirst()
    {
        var name = UniqueName();
        await CreateAsync(name, description: "first");
        var (status, body) = await SendAsync(HttpMethod.Post, "/admin/scopes", new { scope_name = name, description = "second" });
        var (_, shown) = await SendAsync(HttpMethod.Get, $"/admin/scopes/{name}");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain(name));
            Assert.That(AuthlyApp.Str(shown, "description"), Is.EqualTo("first"));
        });
    }

    [TestCase("""{"scope_name":"x:1","is_default":"yes"}""", "is_default")]
    [TestCase("""{"scope_name":"x:2","is_active":1}""", "is_active")]
    [TestCase("""{"scope_name":["x:3"]}""", "scope_name")]
    [TestCase("""{"scope_name":"x:4","description":{"text":"d"}}""", "description")]
    public async Task Create_WithWrongTypes_Returns400NamingTheField(string json, string field)
    {
        var response = await _admin.PostAsync("/admin/scopes", new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain(field));
    }

    [TestCase("[\"x\"]")]
    [TestCase("null")]
    public async Task Create_WithJsonThatIsNotAnObject_Returns400(string json)
    {
        var response = await _admin.PostAsync("/admin/scopes", new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain("JSON object"));
    }

    [Test]
    public async Task Get_ByNameWithColons_ReturnsIt_AndUnknownIs404()
    {
        var name = UniqueName("svc:read");
        await CreateAsync(name);
        var (status, body) = await SendAsync(HttpMethod.Get, $"/admin/scopes/{name}");
        var (missing, missingBody) = await SendAsync(HttpMethod.Get, "/admin/scopes/no:such:scope");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(AuthlyApp.Str(body, "scope_name"), Is.EqualTo(name));
            Assert.That(missing, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(AuthlyApp.Str(missingBody, "detail"), Is.Not.Empty);
        });
    }

    [Test]
    public async Task Update_ChangesDescriptionAndFlags()
    {
        var name = UniqueName();
        await CreateAsync(name, description: "before");
        var (status, body) = await SendAsync(HttpMethod.Put, $"/admin/scopes/{name}", new { description = "after", is_default = true });
        var (_, shown) = await SendAsync(HttpMethod.Get, $"/admin/scopes/{name}");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(AuthlyApp.Str(shown, "description"), Is.EqualTo("after"));
            Assert.That(shown["is_default"]!.GetValue<bool>(), Is.True);
            Assert.That(shown["is_active"]!.GetValue<bool>(), Is.True);
        });
    }

    [Test]
    public async Task Update_Rename_Returns400NamingScopeName()
    {
        var name = UniqueName();
        await CreateAsync(name);
        var (status, body) = await SendAsync(HttpMethod.Put, $"/admin/scopes/{name}", new { scope_name = name + "x" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain("scope_name"));
    }

    [Test]
    public async Task Update_UnknownScope_Returns404()
    {
        var (status, _) = await SendAsync(HttpMethod.Put, "/admin/scopes/no:such:scope", new { description = "x" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Delete_RemovesTheScope_AndASecondDeleteIs404()
    {
        var name = UniqueName();
        await CreateAsync(name);
        var (first, _) = await SendAsync(HttpMethod.Delete, $"/admin/scopes/{name}");
        var (get, _) = await SendAsync(HttpMethod.Get, $"/admin/scopes/{name}");
        var (second, _) = await SendAsync(HttpMethod.Delete, $"/admin/scopes/{name}");
        Assert.Multiple(() =>
        {
            Assert.That(first, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(get, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(second, Is.EqualTo(HttpStatusCode.NotFound));
        });
    }

    [Test]
    public async Task Defaults_ListsActiveDefaultScopesOnly()
    {
        var (def, plain, inactiveDefault) = (UniqueName("d"), UniqueName("p"), UniqueName("i"));
        await CreateAsync(def, isDefault: true);
        await CreateAsync(plain);
        await CreateAsync(inactiveDefault, isDefault: true, isActive: false);
        var names = await ListNamesAsync("/admin/scopes/defaults");
        Assert.Multiple(() =>
        {
            Assert.That(names, Does.Contain(def));
            Assert.That(names, Does.Contain("read"), "the seeded default");
            Assert.That(names, Does.Not.Contain(plain));
            Assert.That(names, Does.Not.Contain(inactiveDefault));
        });
    }

    [Test]
    public async Task List_FiltersByIncludeInactiveAndDefaultOnly()
    {
        var (active, inactive, def) = (UniqueName("a"), UniqueName("i"), UniqueName("d"));
        await CreateAsync(active);
        await CreateAsync(inactive, isActive: false);
        await CreateAsync(def, isDefault: true);
        var plain = await ListNamesAsync("/admin/scopes?limit=1000");
        var all = await ListNamesAsync("/admin/scopes?limit=1000&include_inactive=true");
        var defaults = await ListNamesAsync("/admin/scopes?limit=1000&default_only=true");
        Assert.Multiple(() =>
        {
            Assert.That(plain, Does.Contain(active).And.Contain(def).And.Not.Contain(inactive));
            Assert.That(all, Does.Contain(active).And.Contain(def).And.Contain(inactive));
            Assert.That(defaults, Does.Contain(def).And.Not.Contain(active).And.Not.Contain(inactive));
        });
    }

    [TestCase("limit=0", "limit")]
    [TestCase("limit=5000", "limit")]
    [TestCase("offset=-1", "offset")]
    [TestCase("default_only=sometimes", "default_only")]
    public async Task List_WithBadParameters_Returns400NamingIt(string query, string field)
    {
        var response = await _admin.GetAsync("/admin/scopes?" + query);
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain(field));
    }

    [Test]
    public async Task NewAndDeactivatedScopes_TakeEffectForTokensAtOnce()
    {
        // Warm the active-scope cache first: a change must not wait for it to expire.
        await _app.PasswordTokenAsync(scope: "read");
        var name = UniqueName("orders");
        await CreateAsync(name);
        // A client registered for the new scope (the client-less grant yields first-party scopes only).
        var (id, secret) = await _app.CreateConfidentialClientAsync($"read {name}", ["password"]);
        async Task<System.Text.Json.Nodes.JsonObject> TokenAsync() => await AuthlyApp.JsonAsync(await _app.PostFormAsync("/api/v1/oauth/token",
            AuthlyApp.Basic(id, secret!), ("grant_type", "password"), ("username", AuthlyApp.AdminUsername), ("password", AuthlyApp.AdminPassword),
            ("scope", $"read {name}")));
        var granted = await TokenAsync();

        await SendAsync(HttpMethod.Put, $"/admin/scopes/{name}", new { is_active = false });
        var afterDeactivation = await TokenAsync();

        Assert.That(AuthlyApp.Str(granted, "scope").Split(' '), Does.Contain(name));
        Assert.That(AuthlyApp.Str(afterDeactivation, "scope").Split(' '), Does.Not.Contain(name));
    }
}
