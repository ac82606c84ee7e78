using Authly.Clients;
using Authly.Cluster;
using Authly.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace Authly.Tests.Stores;

/// <summary>The per-node client cache: a change made where no announcement reaches this node shows once the entry expires.</summary>
[TestFixture]
public sealed class ClientStoreTests
{
    private NpgsqlDataSource _db = null!;

    [OneTimeSetUp] public async Task CreateDatabaseAsync() => _db = NpgsqlDataSource.Create(await TestServers.CreateDatabaseAsync());
    [OneTimeTearDown] public async Task DisposeAsync() => await _db.DisposeAsync();

    [Test]
    public async Task FindActive_ClientDeactivatedWithoutAnnouncement_IsNotFoundOnceTheCachedEntryExpires()
    {
        var clock = new TestClock(DateTimeOffset.UtcNow);
        var store = new ClientStore(_db, new LocalClusterBus(), clock, new Authly.Configuration.AuthlyOptions { DatabaseUrl = "", JwtSecretKey = "" },
            Microsoft.Extensions.Logging.Abstractions.NullLogger<ClientStore>.Instance);
        var created = await store.CreateAsync(new ClientRegistration
        {
            ClientName = "cache test", ClientType = ClientTypes.Confidential, Scope = "read", GrantTypes = ["client_credentials"],
        }, CancellationToken.None);
        var clientId = created.Client.ClientId;
        Assert.That(await store.FindActiveAsync(clientId, CancellationToken.None), Is.Not.Null);

        // Another node's change whose announcement was lost: only the database knows.
        await using (var conn = await _db.OpenConnectionAsync())
            await conn.ExecuteAsync("UPDATE clients SET is_active = false WHERE client_id = @ClientId", new { ClientId = clientId });
        Assert.That(await store.FindActiveAsync(clientId, CancellationToken.None), Is.Not.Null, "still cached");

        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.That(await store.FindActiveAsync(clientId, CancellationToken.None), Is.Null, "the first lookup after expiry re-reads");
        Assert.That(await store.FindActiveAsync(clientId, CancellationToken.None), Is.Null, "and the answer stays");
    }
}
