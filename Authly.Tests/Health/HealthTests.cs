using System.Net;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Health;

[TestFixture, Category("Health")]
public sealed class HealthTests : AppFixture
{
    [Test]
    public async Task Health_WhenDatabaseAndRedisAnswer_IsHealthy()
    {
        var response = await _app.CreateClient().GetAsync("/health");
        var body = await AuthlyApp.JsonAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(AuthlyApp.Str(body, "status"), Is.EqualTo("healthy"));
            Assert.That(AuthlyApp.Str(body, "version"), Does.Match(@"^\d+\.\d+\.\d+"));
            Assert.That(AuthlyApp.Str(body, "database"), Is.EqualTo("connected"));
            Assert.That(AuthlyApp.Str(body, "redis"), Is.EqualTo("connected"));
        });
    }

    [Test]
    public async Task Health_WithoutRedis_SaysNotConfiguredAndStaysHealthy()
    {
        using var app = await AuthlyApp.StartAsync(withRedis: false);
        var response = await app.CreateClient().GetAsync("/health");
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "redis"), Is.EqualTo("not configured"));
    }

    [Test]
    public async Task Health_WhenRedisIsUnreachable_SaysDisconnectedButStaysHealthy()
    {
        // API.md: only PostgreSQL makes /health unhealthy; Redis state is reported.
        var closedPort = Authly.Tests.Cluster.AuthlyNode.FreePort(); // nothing listens there
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["REDIS_URL"] = $"redis://127.0.0.1:{closedPort}" });
        var response = await app.CreateClient().GetAsync("/health");
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "status"), Is.EqualTo("healthy"));
        Assert.That(AuthlyApp.Str(body, "redis"), Is.EqualTo("disconnected"));
    }

    [Test, Description("Rate limits and lockouts fall back to per-node counters: a Redis outage is not a sign-in outage")]
    public async Task TokenRequests_WhenRedisIsUnreachable_StillSucceed()
    {
        var closedPort = Authly.Tests.Cluster.AuthlyNode.FreePort(); // nothing listens there
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["REDIS_URL"] = $"redis://127.0.0.1:{closedPort}" });
        var user = await app.CreateUserAsync();
        var response = await app.PostFormAsync("/api/v1/oauth/token",
            [("grant_type", "password"), ("username", user.Username), ("password", user.Password)]);
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        var introspected = await app.PostFormAsync("/api/v1/oauth/introspect", [("token", AuthlyApp.Str(body, "access_token"))]);
        Assert.That((await AuthlyApp.JsonAsync(introspected))["active"]!.GetValue<bool>(), Is.True);
    }

    [Test]
    public async Task Live_IsAlive()
    {
        var response = await _app.CreateClient().GetAsync("/health/live");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(response), "status"), Is.EqualTo("alive"));
        // Issue 14 writes the cached bytes itself (JsonBytesResult): the same headers as the file result it replaced.
        Assert.Multiple(() =>
        {
            Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("application/json; charset=utf-8"));
            Assert.That(response.Content.Headers.ContentLength, Is.EqualTo("""{"status":"alive"}""".Length));
            Assert.That(response.Headers.GetValues("X-Content-Type-Options").Single(), Is.EqualTo("nosniff"));
            Assert.That(response.Headers.Contains("X-Request-ID"), Is.True);
        });
    }

    [Test]
    public async Task Ready_WhenDatabaseAnswers_IsReady()
    {
        var response = await _app.CreateClient().GetAsync("/health/ready");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(response), "status"), Is.EqualTo("ready"));
    }

    [Test]
    public async Task OpenApiDocument_IsServed()
    {
        var response = await _app.CreateClient().GetAsync("/openapi.json");
        var body = await AuthlyApp.JsonAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(body["openapi"]?.GetValue<string>(), Does.StartWith("3."));
            Assert.That(body["info"]?["title"]?.GetValue<string>(), Is.EqualTo("Authly"));
            Assert.That(body["paths"]!.AsObject().Select(p => p.Key), Does.Contain("/api/v1/oauth/token").And.Contain("/admin/clients").And.Contain("/health"));
        });
    }

    [Test]
    public async Task DocsUi_IsServed()
    {
        var response = await _app.CreateClient().GetAsync("/docs/index.html");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
    }

    [TestCase("/health")]
    [TestCase("/health/live")]
    [TestCase("/admin/health")]
    [TestCase("/admin/clients")]
    [TestCase("/openapi.json")]
    [TestCase("/.well-known/openid-configuration")]
    [TestCase("/no/such/path")]
    public async Task EveryResponse_CarriesSecurityHeaders(string path)
    {
        var response = await _app.CreateClient().GetAsync(path);
        Assert.Multiple(() =>
        {
            Assert.That(Header(response, "X-Content-Type-Options"), Is.EqualTo("nosniff"));
            Assert.That(Header(response, "X-Frame-Options"), Is.EqualTo("DENY"));
            Assert.That(Header(response, "Referrer-Policy"), Is.Not.Empty);
            Assert.That(Header(response, "Content-Security-Policy"), Does.Contain("default-src").And.Contain("frame-ancestors 'none'"));
            Assert.That(Header(response, "Content-Security-Policy"), Does.Not.Contain("unsafe-inline"));
        });
    }

    [Test]
    public async Task DocsUi_HasItsOwnCspWithoutInlineScript()
    {
        var response = await _app.CreateClient().GetAsync("/docs/index.html");
        var csp = Header(response, "Content-Security-Policy");
        Assert.That(csp, Does.Contain("frame-ancestors 'none'"));
        Assert.That(csp, Does.Not.Contain("script-src 'unsafe-inline'").And.Not.Contain("unsafe-eval"));
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var v) ? string.Join(",", v)
        : response.Content.Headers.TryGetValues(name, out var c) ? string.Join(",", c) : "";
}
