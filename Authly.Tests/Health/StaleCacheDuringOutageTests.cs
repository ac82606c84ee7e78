using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Health;

/// <summary>
/// Issue 12 finding 4: once the 60-second client cache and the 5-minute key ring expired mid-outage,
/// client_credentials and introspection of valid tokens failed. The caches now serve their last good
/// value while PostgreSQL is unreachable, for at most AUTHLY_STALE_CACHE_SECONDS, then say 503.
/// </summary>
[TestFixture, Category("Health")]
public sealed class StaleCacheDuringOutageTests : AppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["AUTHLY_STALE_CACHE_SECONDS"] = "900" };
    protected override TimeProvider Clock => _clock;

    private readonly TestClock _clock = new(DateTimeOffset.UtcNow);
    private string _database = null!;

    [OneTimeSetUp]
    public void Start()
    {
        _database = DatabaseServer.DatabaseName(_app.DatabaseConnectionString);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await DatabaseServer.RestoreAsync(_database);
    }

    [Test]
    public async Task Issue12_Finding4_ClientCredentialsAndJwtIntrospection_KeepWorkingPastTheCacheExpiry_UntilTheStaleBound()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync("read introspect", ["client_credentials"]);
        var basic = AuthlyApp.Basic(id, secret!);
        var before = await _app.PostFormAsync(TokenPath, basic, ("grant_type", "client_credentials"), ("scope", "read introspect"));
        Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.OK), await before.Content.ReadAsStringAsync());
        var earlier = AuthlyApp.Str(await AuthlyApp.JsonAsync(before), "access_token");

        await DatabaseServer.CutOffAsync(_database);
        // Past the client cache (60 s), the scope set (2 s) and the key ring (5 min).
        _clock.Advance(TimeSpan.FromMinutes(6));

        var during = await _app.PostFormAsync(TokenPath, basic, ("grant_type", "client_credentials"), ("scope", "read introspect"));
        Assert.That(during.StatusCode, Is.EqualTo(HttpStatusCode.OK), "client_credentials during the outage: " + await during.Content.ReadAsStringAsync());
        var minted = AuthlyApp.Str(await AuthlyApp.JsonAsync(during), "access_token");
        foreach (var token in new[] { earlier, minted })
        {
            var introspection = await _app.PostFormAsync(IntrospectPath, basic, ("token", token));
            var body = await introspection.Content.ReadAsStringAsync();
            Assert.That(introspection.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
            Assert.That((await AuthlyApp.JsonAsync(introspection))["active"]!.GetValue<bool>(), Is.True, "RFC 7662: a valid token stays active: " + body);
        }

        // Beyond AUTHLY_STALE_CACHE_SECONDS since the database last confirmed the client: an outage, said as one.
        _clock.Advance(TimeSpan.FromMinutes(10));
        var tooOld = await _app.PostFormAsync(TokenPath, basic, ("grant_type", "client_credentials"));
        var tooOldBody = await tooOld.Content.ReadAsStringAsync();
        Assert.That(tooOld.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), tooOldBody);
        Assert.That(tooOldBody, Does.Contain("temporarily_unavailable"));

        await DatabaseServer.RestoreAsync(_database);
        var recovered = await Eventually.TrueAsync(async () =>
            (await _app.PostFormAsync(TokenPath, basic, ("grant_type", "client_credentials"))).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(15));
        Assert.That(recovered, Is.True, "client_credentials did not recover after the database came back");
    }
}
