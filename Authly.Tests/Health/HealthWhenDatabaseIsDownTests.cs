using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Health;

/// <summary>API.md: /health is 503 "unhealthy" when PostgreSQL is unreachable. Its own fixture: it breaks its database.</summary>
[TestFixture, Category("Health")]
public sealed class HealthWhenDatabaseIsDownTests : AppFixture
{
    private string _database = null!;

    [OneTimeSetUp]
    public void Start()
    {
        // Startup needs the database (migrations, admin, keys): break it only once the server is up.
        _database = DatabaseServer.DatabaseName(_app.DatabaseConnectionString);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await DatabaseServer.RestoreAsync(_database);
    }

    [Test]
    public async Task Health_WhenPostgresIsUnreachable_Is503Unhealthy_AndRecoversWhenItIsBack()
    {
        var http = _app.CreateClient();
        Assert.That((await http.GetAsync("/health")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "healthy before the outage");
        var adminToken = await _app.AdminTokenAsync("admin:system:read");

        await DatabaseServer.CutOffAsync(_database);
        var health = await http.GetAsync("/health");
        var body = await AuthlyApp.JsonAsync(health);
        var ready = await http.GetAsync("/health/ready");
        var live = await http.GetAsync("/health/live");
        Assert.Multiple(() =>
        {
            Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body.ToJsonString());
            Assert.That(AuthlyApp.Str(body, "status"), Is.EqualTo("unhealthy"));
            Assert.That(AuthlyApp.Str(body, "database"), Is.EqualTo("disconnected"));
            Assert.That(AuthlyApp.Str(body, "redis"), Is.EqualTo("connected"));
            Assert.That(body.ContainsKey("version"), Is.True);
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the process itself is alive");
        });

        var admin = await _app.BearerClient(adminToken).GetAsync("/admin/status");
        Assert.That(admin.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "the admin API says 503, not 500");
        var adminBody = await AuthlyApp.JsonAsync(admin);
        Assert.That(AuthlyApp.Str(adminBody, "error_code"), Is.EqualTo("DATABASE_UNAVAILABLE"));
        Assert.That(admin.Headers.RetryAfter, Is.Not.Null);

        await DatabaseServer.RestoreAsync(_database);
        var recovered = await Eventually.TrueAsync(async () => (await http.GetAsync("/health")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(15));
        Assert.That(recovered, Is.True, "/health did not become healthy again after the database came back");
    }
}
