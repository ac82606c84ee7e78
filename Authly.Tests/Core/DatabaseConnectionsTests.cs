using Authly.Security;
using Authly.Storage;
using Authly.Tests.Infrastructure;
using Npgsql;

namespace Authly.Tests.Core;

/// <summary>
/// Issue 12 finding 6: a connection PostgreSQL refuses for lack of slots (53300) is tried again within the
/// connect timeout, so a burst queues; past the timeout the refusal surfaces (mapped to 503), and nothing
/// else is retried. The burst itself is in Faults/ConnectionPressureTests.
/// </summary>
[TestFixture, Category("Core"), NonParallelizable]
public sealed class DatabaseConnectionsTests
{
    private string _role = null!, _password = null!, _database = null!;

    [OneTimeSetUp]
    public async Task CreateRoleAsync()
    {
        _database = DatabaseServer.DatabaseName(await TestServers.CreateDatabaseAsync());
        _role = "authly_one_" + Guid.NewGuid().ToString("N")[..8];
        _password = OpaqueToken.New(16);
        // Names are generated above from [a-z0-9_] and the password from base64url; DDL cannot bind parameters.
        await DatabaseServer.ExecuteAsync($"CREATE ROLE {_role} LOGIN NOSUPERUSER CONNECTION LIMIT 1 PASSWORD '{_password}'");
        await DatabaseServer.ExecuteAsync($"GRANT CONNECT ON DATABASE {_database} TO {_role}");
    }

    [OneTimeTearDown]
    public async Task DropRoleAsync()
    {
        await DatabaseServer.ExecuteAsync($"DROP DATABASE IF EXISTS {_database} WITH (FORCE)");
        await DatabaseServer.ExecuteAsync($"DROP ROLE IF EXISTS {_role}");
    }

    private NpgsqlDataSource Source(int connectTimeout) => NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(TestServers.ConnectionString(_database))
    {
        Username = _role, Password = _password, Timeout = connectTimeout, Pooling = false,
    }.ConnectionString);

    [Test]
    public async Task Open_WhileTheServerRefusesForLackOfSlots_RetriesUntilTheConnectTimeout_ThenSurfaces53300()
    {
        await using var holder = Source(5);
        await using var held = await holder.OpenConnectionAsync();
        await using var db = Source(1);
        var e = Assert.ThrowsAsync<PostgresException>(async () => await db.OpenAsync(CancellationToken.None));
        Assert.That(e!.SqlState, Is.EqualTo(PostgresErrorCodes.TooManyConnections));
    }

    [Test]
    public async Task Open_WhenASlotFreesUp_Succeeds()
    {
        await using var holder = Source(5);
        var held = await holder.OpenConnectionAsync();
        await using var db = Source(10);
        var opening = db.OpenAsync(CancellationToken.None).AsTask();
        await held.DisposeAsync();
        await using var conn = await opening;
        Assert.That(conn.State, Is.EqualTo(System.Data.ConnectionState.Open));
    }

    [Test]
    public void Open_OtherFailures_AreNotRetried()
    {
        // A wrong password is the caller's configuration, not a full server: it surfaces at once.
        using var db = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(TestServers.ConnectionString(_database))
        {
            Username = _role, Password = "wrong", Timeout = 30, Pooling = false,
        }.ConnectionString);
        var e = Assert.ThrowsAsync<PostgresException>(async () => await db.OpenAsync(CancellationToken.None));
        Assert.That(e!.SqlState, Is.EqualTo(PostgresErrorCodes.InvalidPassword));
    }
}
