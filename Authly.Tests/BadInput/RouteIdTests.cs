using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;
using Authly.Tests.Vault;

namespace Authly.Tests.BadInput;

/// <summary>
/// Issue 13: an id in a route is parsed in one place (RouteIds). A malformed id is a 400 {detail, field: "id"}
/// on every surface (admin, users, vault), not the bare 404 a {id:guid} route constraint gave, and it
/// changes nothing; a well-formed id that names nothing stays a 404. Authentication is still checked first.
/// </summary>
[TestFixture, Category("BadInput")]
public sealed class RouteIdTests
{
    private AuthlyApp _app = null!;
    private HttpClient _admin = null!;
    private HttpClient _vault = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _app = await AuthlyApp.StartAsync();
        _admin = _app.BearerClient(await _app.AdminTokenAsync("admin:users:read admin:users:write"));
        _vault = VaultApp.Client(_app, (await VaultApp.UserAsync(_app)).Token);
    }

    [OneTimeTearDown] public void Stop() => _app.Dispose();

    private static async Task<(HttpStatusCode Status, string Raw)> SendAsync(HttpClient http, string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT")
            request.Content = new StringContent("""{"client_id":"x","is_active":true}""", Encoding.UTF8, "application/json");
        var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task AssertMalformedIdAsync(HttpClient http, string method, string path)
    {
        var (status, raw) = await SendAsync(http, method, path);
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), $"{method} {path}: {raw}");
        var body = JsonNode.Parse(raw)!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(body, "field"), Is.EqualTo("id"), raw);
            Assert.That(AuthlyApp.Str(body, "detail"), Is.EqualTo("id must be a UUID"), raw);
            OAuthAssert.NothingInternal(raw);
        });
    }

    [TestCase("GET", "/admin/users/not-a-uuid")]
    [TestCase("PUT", "/admin/users/not-a-uuid")]
    [TestCase("DELETE", "/admin/users/12345")]
    [TestCase("POST", "/admin/users/not-a-uuid/reset-password")]
    [TestCase("POST", "/admin/users/not-a-uuid/unlock")]
    [TestCase("GET", "/admin/users/%27%20OR%201=1--/sessions")]
    [TestCase("DELETE", "/admin/users/not-a-uuid/sessions")]
    [TestCase("DELETE", "/admin/users/not-a-uuid/sessions/some-sid")]
    [Description("Issue 13: admin user routes answer a malformed id with 400 naming the field")]
    public async Task AdminUserRoute_WithMalformedId_Returns400NamingTheField(string method, string path) =>
        await AssertMalformedIdAsync(_admin, method, path);

    [TestCase("GET", "/api/v1/users/not-a-uuid")]
    [TestCase("PUT", "/api/v1/users/not-a-uuid")]
    [TestCase("DELETE", "/api/v1/users/12345")]
    [TestCase("PUT", "/api/v1/users/not-a-uuid/verify")]
    [Description("Issue 13: /api/v1/users/{id} answered a malformed id with the router's bare 404; now 400 naming the field")]
    public async Task UsersApiRoute_WithMalformedId_Returns400NamingTheField(string method, string path) =>
        await AssertMalformedIdAsync(_admin, method, path);

    [TestCase("GET", "/api/v1/vault/tokens/not-a-uuid")]
    [TestCase("DELETE", "/api/v1/vault/tokens/not-a-uuid")]
    [TestCase("POST", "/api/v1/vault/tokens/not-a-uuid/access-token")]
    [TestCase("POST", "/api/v1/vault/tokens/not-a-uuid/grants")]
    [TestCase("DELETE", "/api/v1/vault/tokens/12345/grants/some-client")]
    [TestCase("GET", "/api/v1/vault/tokens/not-a-uuid/audit")]
    [TestCase("DELETE", "/api/v1/vault/tokens/not-a-uuid/sessions/some-sid")]
    [Description("Issue 13: /api/v1/vault/tokens/{id} answered a malformed id with the router's bare 404; now 400 naming the field")]
    public async Task VaultTokenRoute_WithMalformedId_Returns400NamingTheField(string method, string path) =>
        await AssertMalformedIdAsync(_vault, method, path);

    [TestCase("admin", "/admin/users/{0}")]
    [TestCase("users", "/api/v1/users/{0}")]
    [TestCase("vault", "/api/v1/vault/tokens/{0}")]
    [Description("Issue 13: a well-formed id that names nothing is still 404")]
    public async Task Route_WithWellFormedUnknownId_Returns404(string surface, string pattern)
    {
        var (status, raw) = await SendAsync(surface == "vault" ? _vault : _admin, "GET", string.Format(pattern, Guid.NewGuid()));
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound), raw);
        Assert.That(AuthlyApp.Str(JsonNode.Parse(raw)!.AsObject(), "detail"), Does.EndWith("not found"), raw);
    }

    [TestCase("/admin/users/not-a-uuid")]
    [TestCase("/api/v1/users/not-a-uuid")]
    [TestCase("/api/v1/vault/tokens/not-a-uuid")]
    [Description("RFC 6750 §3.1: without a token the answer is 401 whatever the id; input is looked at only for an authenticated caller")]
    public async Task Route_WithMalformedIdAndNoToken_Returns401(string path)
    {
        var response = await _app.CreateClient().GetAsync(path);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), await response.Content.ReadAsStringAsync());
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer"));
    }

    [Test, Description("Issue 13: a malformed id changes nothing")]
    public async Task MalformedIdRequests_ChangeNothing()
    {
        var before = await _app.StateSnapshotAsync();
        await SendAsync(_admin, "DELETE", "/admin/users/not-a-uuid");
        await SendAsync(_admin, "PUT", "/api/v1/users/not-a-uuid/verify");
        await SendAsync(_vault, "DELETE", "/api/v1/vault/tokens/not-a-uuid");
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
    }
}
