using Authly.Clients;
using Authly.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Authly.Security;
using Authly.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace Authly.Tests.Stores;

/// <summary>
/// ClientStore caches lookups by client_id. A change must be visible on the node that made it at
/// once, whatever the bus does (its messages are hints); other nodes see it when their entry expires.
/// </summary>
[TestFixture, Category("Core")]
public sealed class ClientStoreTests
{
    private NpgsqlDataSource _db = null!;

    [SetUp] public async Task CreateDatabaseAsync() => _db = NpgsqlDataSource.Create(await TestServers.CreateDatabaseAsync());
    [TearDown] public Task DisposeAsync() => _db.DisposeAsync().AsTask();

    private static readonly CancellationToken None = CancellationToken.None;

    private ClientStore Store(TimeProvider? clock = null) =>
        new(_db, new SilentClusterBus(), clock ?? TimeProvider.System, Options, NullLogger<ClientStore>.Instance);

    private static readonly AuthlyOptions Options = new() { DatabaseUrl = "", JwtSecretKey = "" };

    private static Task<ClientStore.Created> CreateAsync(ClientStore store) => store.CreateAsync(new ClientRegistration
    {
        ClientName = "svc", ClientType = ClientTypes.Confidential, Scope = "read write", GrantTypes = ["client_credentials"],
    }, None);

    [Test]
    public async Task Deactivate_IsSeenAtOnceByTheSameNodesCache()
    {
        var store = Store();
        var created = await CreateAsync(store);
        Assert.That(await store.FindActiveAsync(created.Client.ClientId, None), Is.Not.Null, "now cached");

        Assert.That(await store.DeactivateAsync(created.Client.ClientId, None), Is.True);

        Assert.That(await store.FindActiveAsync(created.Client.ClientId, None), Is.Null);
    }

    [Test]
    public async Task RegenerateSecret_IsSeenAtOnceByTheSameNodesCache()
    {
        var store = Store();
        var created = await CreateAsync(store);
        await store.FindActiveAsync(created.Client.ClientId, None);

        var secret = await store.RegenerateSecretAsync(created.Client.ClientId, None);

        var client = await store.FindActiveAsync(created.Client.ClientId, None);
        Assert.That(OpaqueToken.Matches(secret!, client!.ClientSecretHash), Is.True);
        Assert.That(OpaqueToken.Matches(created.ClientSecret!, client.ClientSecretHash), Is.False);
    }

    [Test]
    public async Task Update_IsSeenAtOnceByTheSameNodesCache()
    {
        var store = Store();
        var created = await CreateAsync(store);
        await store.FindActiveAsync(created.Client.ClientId, None);

        await store.UpdateAsync(created.Client.ClientId, new ClientRegistration { Scope = "read", ClientName = "renamed" }, None);

        var client = await store.FindActiveAsync(created.Client.ClientId, None);
        Assert.That(client!.Scopes, Is.EqualTo(new[] { "read" }));
        Assert.That(client.ClientName, Is.EqualTo("renamed"));
    }

    [Test]
    public async Task FindActive_ClientDeactivatedWithoutAnnouncement_IsNotFoundOnceTheCachedEntryExpires()
    {
        var clock = new TestClock(DateTimeOffset.UtcNow);
        var store = Store(clock);
        var created = await CreateAsync(store);
        var clientId = created.Client.ClientId;
        Assert.That(await store.FindActiveAsync(clientId, None), Is.Not.Null);

        // Another node's change whose announcement was lost: only the database knows.
        await using (var conn = await _db.OpenConnectionAsync())
            await conn.ExecuteAsync("UPDATE clients SET is_active = false WHERE client_id = @ClientId", new { ClientId = clientId });
        Assert.That(await store.FindActiveAsync(clientId, None), Is.Not.Null, "still cached");

        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.That(await store.FindActiveAsync(clientId, None), Is.Null, "the first lookup after expiry re-reads");
        Assert.That(await store.FindActiveAsync(clientId, None), Is.Null, "and the answer stays");
    }

    [Test]
    public async Task FindActive_UnknownId_IsNull_AndCreatingItLaterIsSeen()
    {
        var store = Store();
        Assert.That(await store.FindActiveAsync("no-such-client", None), Is.Null);
        Assert.That(await store.FindActiveAsync(new string('x', 300), None), Is.Null);
        var created = await CreateAsync(store);
        Assert.That(await store.FindActiveAsync(created.Client.ClientId, None), Is.Not.Null);
    }
}
