using System.Net;
using System.Text.Json.Nodes;
using Authly.Configuration;
using Authly.Security;
using Authly.Tests.Infrastructure;
using Dapper;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Authly.Tests.Admin;

/// <summary>API.md "Admin API": enabled (503), localhost only (403), admin token (401/403), the route's scope (403).</summary>
[TestFixture, Category("Admin")]
public sealed class AdminAccessTests : AppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["AUTHLY_TRUSTED_PROXIES"] = "10.0.0.0/8" };

    private const string TrustedProxy = "10.1.2.3";
    private WebApplicationFactory<Program> _peers = null!;

    [OneTimeSetUp]
    public void Start()
    {
        _peers = _app.WithPeerAddressHeader();
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _peers.Dispose();
    }

    private static async Task<AuthlyApp> StartWithAsync(string key, string value) =>
        await AuthlyApp.StartAsync(new Dictionary<string, string?> { [key] = value });

    private static async Task<JsonObject> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(status), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "detail"), Is.Not.Empty);
        return body;
    }

    private async Task<HttpResponseMessage> FromPeerAsync(string peer, string? forwardedFor = null, string? token = null)
    {
        var http = _peers.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/clients");
        request.Headers.Add(TestPeerAddress.Header, peer);
        if (forwardedFor is not null) request.Headers.Add("X-Forwarded-For", forwardedFor);
        request.Headers.Authorization = new("Bearer", token ?? await _app.AdminTokenAsync("admin:clients:read"));
        return await http.SendAsync(request);
    }

    [Test]
    public async Task AdminHealth_WithoutToken_ReturnsHealthy()
    {
        var response = await _app.CreateClient().GetAsync("/admin/health");
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(JsonNode.DeepEquals(body, JsonNode.Parse("""{"status":"healthy","service":"authly-admin-api"}""")), Is.True, body.ToJsonString());
    }

    [TestCase("/admin/clients")]
    [TestCase("/admin/scopes")]
    [TestCase("/admin/scopes/defaults")]
    public async Task Request_WithoutToken_Returns401WithBearerChallenge(string path)
    {
        var response = await _app.CreateClient().GetAsync(path);
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer"));
    }

    [TestCase("not-a-token")]
    [TestCase("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")]
    public async Task Request_WithInvalidToken_Returns401(string token)
    {
        var response = await _app.BearerClient(token).GetAsync("/admin/clients");
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized);
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("invalid_token"));
    }

    [Test]
    public async Task Request_ByVerifiedNonAdminUser_Returns403()
    {
        const string password = "User-Password-123";
        var username = "user" + Guid.NewGuid().ToString("N")[..8];
        var hasher = new PasswordHasher(new AuthlyOptions { DatabaseUrl = "", Argon2OpsLimit = 1, Argon2MemLimitKiB = 8192 });
        await using (var db = _app.Database())
        await using (var conn = await db.OpenConnectionAsync())
            await conn.ExecuteAsync("""
                INSERT INTO users (username, email, password_hash, is_active, is_verified, is_admin)
                VALUES (@Username, @Email, @Hash, true, true, false)
                """, new { Username = username, Email = username + "@example.com", Hash = hasher.Hash(password) });
        var token = AuthlyApp.Str(await _app.PasswordTokenAsync(username, password, "read"), "access_token");

        var response = await _app.BearerClient(token).GetAsync("/admin/clients");

        await AssertErrorAsync(response, HttpStatusCode.Forbidden);
    }

    [Test]
    public async Task Request_ByAdminWithoutTheRouteScope_Returns403InsufficientScope()
    {
        var readOnly = _app.BearerClient(await _app.AdminTokenAsync("admin:clients:read"));
        var write = await readOnly.PostAsync("/admin/clients", System.Net.Http.Json.JsonContent.Create(new { client_name = "x", client_type = "confidential" }));
        var otherArea = await readOnly.GetAsync("/admin/scopes");
        var allowed = await readOnly.GetAsync("/admin/clients");
        await AssertErrorAsync(write, HttpStatusCode.Forbidden);
        await AssertErrorAsync(otherArea, HttpStatusCode.Forbidden);
        Assert.Multiple(() =>
        {
            Assert.That(write.Headers.WwwAuthenticate.ToString(), Does.Contain("insufficient_scope").And.Contain("admin:clients:write"));
            Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task AdminApiDisabled_Returns503WithExactBody_EvenBeforeAuthentication()
    {
        using var app = await StartWithAsync("AUTHLY_ADMIN_API_ENABLED", "false");
        var token = await app.AdminTokenAsync();
        var expected = JsonNode.Parse("""{"detail":"Admin API is currently disabled","error_code":"ADMIN_API_DISABLED"}""");
        foreach (var http in new[] { app.CreateClient(), app.BearerClient(token) })
        foreach (var path in new[] { "/admin/clients", "/admin/scopes" })
        {
            var response = await http.GetAsync(path);
            var body = await AuthlyApp.JsonAsync(response);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), path);
            Assert.That(JsonNode.DeepEquals(body, expected), Is.True, body.ToJsonString());
        }
    }

    [TestCase("203.0.113.5", null)]
    [TestCase("2001:db8::5", null)]
    [TestCase("203.0.113.5", "127.0.0.1", Description = "X-Forwarded-For from an untrusted peer is ignored")]
    [TestCase(TrustedProxy, null, Description = "the proxy itself is not local")]
    [TestCase(TrustedProxy, "203.0.113.5")]
    [TestCase(TrustedProxy, "127.0.0.1, 203.0.113.5", Description = "a spoofed left-most hop does not count: the proxy appended the real one")]
    public async Task RemoteCaller_WhenLocalhostOnly_Returns403LocalhostOnly(string peer, string? forwardedFor)
    {
        var response = await FromPeerAsync(peer, forwardedFor);
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(JsonNode.DeepEquals(body, JsonNode.Parse(
            """{"detail":"Admin API access restricted to localhost only","error_code":"ADMIN_API_LOCALHOST_ONLY"}""")), Is.True, body.ToJsonString());
    }

    [TestCase("127.0.0.1", null)]
    [TestCase("::1", null)]
    [TestCase("::ffff:127.0.0.1", null)]
    [TestCase("127.0.0.1", "203.0.113.5", Description = "X-Forwarded-For counts only from AUTHLY_TRUSTED_PROXIES")]
    [TestCase(TrustedProxy, "127.0.0.1")]
    public async Task LocalCaller_WhenLocalhostOnly_IsServed(string peer, string? forwardedFor)
    {
        var response = await FromPeerAsync(peer, forwardedFor);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task RemoteCaller_IsRefusedBeforeItsTokenIsLookedAt()
    {
        var response = await FromPeerAsync("203.0.113.5", token: "not-a-token");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    [Test]
    public async Task RemoteCaller_WhenLocalhostOnlyIsOff_IsServed()
    {
        using var app = await StartWithAsync("AUTHLY_ADMIN_API_LOCALHOST_ONLY", "false");
        using var peers = app.WithPeerAddressHeader();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/clients");
        request.Headers.Add(TestPeerAddress.Header, "203.0.113.5");
        request.Headers.Authorization = new("Bearer", await app.AdminTokenAsync("admin:clients:read"));
        var response = await peers.CreateClient().SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
