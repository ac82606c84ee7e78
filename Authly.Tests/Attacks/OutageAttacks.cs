using System.Net;
using System.Net.Http.Json;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 12 finding 3: a client deactivated on one node kept getting tokens on another for up to a
/// minute, because the other node trusted its cache until the announcement arrived. Two nodes share a
/// database here with no Redis between them, so no announcement ever crosses: every node must find the
/// change on its own, within seconds, and stale serving during an outage must not bring a client back.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class OutageAttacks
{
    private readonly TestClock _clockB = new(DateTimeOffset.UtcNow);
    private AuthlyApp _nodeA = null!;
    private AuthlyApp _nodeB = null!;
    private AuthlyApp _nodeC = null!;
    private string _database = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _nodeA = await AuthlyApp.StartAsync(withRedis: false);
        _database = DatabaseServer.DatabaseName(_nodeA.DatabaseConnectionString);
        var shared = new Dictionary<string, string?> { ["DATABASE_URL"] = _nodeA.DatabaseConnectionString };
        _nodeB = await AuthlyApp.StartAsync(shared, withRedis: false, clock: _clockB);
        _nodeC = await AuthlyApp.StartAsync(shared, withRedis: false);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await DatabaseServer.RestoreAsync(_database);
        _nodeA.Dispose();
        _nodeB.Dispose();
        _nodeC.Dispose();
    }

    /// <summary>Each test starts with the database up and every node's pool reconnected (a test before may have cut it off).</summary>
    [SetUp]
    public async Task DatabaseUpAsync()
    {
        await DatabaseServer.RestoreAsync(_database);
        foreach (var node in new[] { _nodeA, _nodeB, _nodeC })
        {
            var http = node.CreateClient();
            var up = await Eventually.TrueAsync(async () => (await http.GetAsync("/health")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(15));
            Assert.That(up, Is.True, "a node did not reconnect to its database");
        }
    }

    private static Task<HttpResponseMessage> MintAsync(AuthlyApp node, string id, string secret) =>
        node.PostFormAsync(TokenPath, AuthlyApp.Basic(id, secret), ("grant_type", "client_credentials"));

    private async Task<(string Id, string Secret)> WarmClientOnAsync(AuthlyApp node)
    {
        var (id, secret) = await _nodeA.CreateConfidentialClientAsync("read", ["client_credentials"]);
        var warm = await MintAsync(node, id, secret!);
        Assert.That(warm.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the other node knows the client: " + await warm.Content.ReadAsStringAsync());
        return (id, secret!);
    }

    [Test]
    public async Task Issue12_Finding3_ClientDeactivatedOnOneNode_CannotMintOnAnother_WhoseAnnouncementWasLost()
    {
        var (id, secret) = await WarmClientOnAsync(_nodeC);
        var deactivated = await _nodeA.BearerClient(await _nodeA.AdminTokenAsync("admin:clients:write"))
            .PutAsJsonAsync($"/admin/clients/{id}", new { is_active = false });
        Assert.That(deactivated.StatusCode, Is.EqualTo(HttpStatusCode.OK), "committed is 200: " + await deactivated.Content.ReadAsStringAsync());

        // Well inside the old 60-second cache, and with no message between the nodes.
        var refused = await Eventually.TrueAsync(async () => (await MintAsync(_nodeC, id, secret)).StatusCode == HttpStatusCode.Unauthorized,
            TimeSpan.FromSeconds(10));
        Assert.That(refused, Is.True, "the other node kept minting tokens for a deactivated client");
    }

    [Test]
    public async Task Issue12_Finding3_SecretRotatedOnOneNode_OldSecretStopsWorkingOnAnother()
    {
        var (id, secret) = await WarmClientOnAsync(_nodeC);
        var rotated = await _nodeA.BearerClient(await _nodeA.AdminTokenAsync("admin:clients:write")).PostAsync($"/admin/clients/{id}/regenerate-secret", null);
        Assert.That(rotated.StatusCode, Is.EqualTo(HttpStatusCode.OK), await rotated.Content.ReadAsStringAsync());
        var newSecret = AuthlyApp.Str(await AuthlyApp.JsonAsync(rotated), "client_secret");

        var oldRefused = await Eventually.TrueAsync(async () => (await MintAsync(_nodeC, id, secret)).StatusCode == HttpStatusCode.Unauthorized,
            TimeSpan.FromSeconds(10));
        Assert.That(oldRefused, Is.True, "the replaced secret kept working on the other node");
        Assert.That((await MintAsync(_nodeC, id, newSecret)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the new secret works there");
    }

    [Test]
    public async Task Issue12_Finding3_ClientDeletedBeforeAnOutage_IsNotResurrectedByStaleServing()
    {
        var (id, secret) = await WarmClientOnAsync(_nodeB);
        var deleted = await _nodeA.BearerClient(await _nodeA.AdminTokenAsync("admin:clients:write")).DeleteAsync($"/admin/clients/{id}");
        Assert.That((int)deleted.StatusCode, Is.LessThan(300), await deleted.Content.ReadAsStringAsync());
        // Node B re-reads what it holds once its re-validation interval has passed.
        _clockB.Advance(TimeSpan.FromSeconds(3));
        Assert.That((await MintAsync(_nodeB, id, secret)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "refused before the outage");

        await DatabaseServer.CutOffAsync(_database);
        try
        {
            // Past every cache's normal life: node B now answers from what it last knew, which is "no such client".
            _clockB.Advance(TimeSpan.FromMinutes(10));
            var during = await MintAsync(_nodeB, id, secret);
            Assert.That(during.StatusCode, Is.Not.EqualTo(HttpStatusCode.OK), "a deleted client minted a token during the outage");
            Assert.That(during.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized).Or.EqualTo(HttpStatusCode.ServiceUnavailable));
        }
        finally { await DatabaseServer.RestoreAsync(_database); }
    }

    [Test]
    public async Task Issue12_Finding4_ClientNeverSeenByANode_DuringAnOutage_Is503_NotUnknownClient()
    {
        var (id, secret) = await _nodeA.CreateConfidentialClientAsync("read", ["client_credentials"]);
        await DatabaseServer.CutOffAsync(_database);
        try
        {
            var during = await MintAsync(_nodeB, id, secret!);
            var body = await during.Content.ReadAsStringAsync();
            Assert.That(during.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "an outage, not invalid_client: " + body);
            Assert.That(body, Does.Contain("temporarily_unavailable"));
        }
        finally { await DatabaseServer.RestoreAsync(_database); }
    }
}
