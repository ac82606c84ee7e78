using Authly.Clients;
using Authly.Configuration;
using Authly.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 13, the refreshing cache: client ids come from callers, and unknown ones are cached too
/// (a repeated made-up id must not cost a query each time), so the client cache is bounded. It used
/// to start over when full: anyone could flood made-up ids and empty it, which also threw away every
/// real client's last good answer, so a database outage right after the flood stopped client_credentials
/// for every client. Absent answers are now what makes room.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class CacheFloodAttacks
{
    private string _connectionString = null!;
    private NpgsqlDataSource _db = null!;

    [SetUp]
    public async Task CreateDatabaseAsync()
    {
        _connectionString = await TestServers.CreateDatabaseAsync();
        _db = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(_connectionString) { Timeout = 2 }.ConnectionString);
    }

    [TearDown]
    public async Task DisposeAsync()
    {
        await DatabaseServer.RestoreAsync(DatabaseServer.DatabaseName(_connectionString));
        await _db.DisposeAsync();
    }

    [Test]
    public async Task Issue13_FloodOfUnknownClientIds_DoesNotEvictKnownClients_WhichStillServeDuringAnOutage()
    {
        var ct = CancellationToken.None;
        var clock = new TestClock(DateTimeOffset.UtcNow);
        var store = new ClientStore(_db, new SilentClusterBus(), clock, new AuthlyOptions { DatabaseUrl = "", JwtSecretKey = "" },
            NullLogger<ClientStore>.Instance);
        var created = await store.CreateAsync(new ClientRegistration
        {
            ClientName = "svc", ClientType = ClientTypes.Confidential, Scope = "read", GrantTypes = ["client_credentials"],
        }, ct);
        var id = created.Client.ClientId;
        Assert.That(await store.FindActiveAsync(id, ct), Is.Not.Null, "precondition: the real client is cached");

        // More made-up ids than the cache holds (10,000), each asked once.
        var found = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 10_050), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, token) =>
        {
            if (await store.FindActiveAsync($"made-up-{i}", token) is not null) Interlocked.Increment(ref found);
        });
        Assert.That(found, Is.Zero);

        await DatabaseServer.CutOffAsync(DatabaseServer.DatabaseName(_connectionString));
        clock.Advance(TimeSpan.FromMinutes(2)); // past the entry's 60 s: it must be read again, and cannot be
        Assert.That(await store.FindActiveAsync(id, ct), Is.Not.Null, "the flood threw the real client's last good answer away");
    }
}
