using System.Collections.Concurrent;
using Authly.Embedded;
using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Tests;

/// <summary>
/// Real PostgreSQL and Redis for the whole run: AUTHLY_TEST_DATABASE_URL / AUTHLY_TEST_REDIS_URL
/// when set, otherwise private servers started from the installed binaries (the same launcher
/// as `authly serve --embedded`). A migrated template database lets each fixture get its own
/// database in milliseconds. Nothing here skips: a missing server fails the run and says why.
/// On an external server (CI service containers, or `make test-external`) every database this run
/// makes carries the run's id in its name (so runs sharing a server never touch each other's) and is
/// dropped at the end; Redis users take a fresh key prefix or channel prefix per fixture. Tests that
/// kill or restart a server (PrivateRedis, PostgresRestartTests, FaultCluster) start private ones even
/// then: stopping a server that other fixtures, or other runs, are using would fail them.
/// </summary>
[SetUpFixture]
public sealed class TestServers
{
    // Unique per run: two runs against one external server must not drop each other's template.
    private static readonly string RunId = Guid.NewGuid().ToString("N")[..8];
    public static readonly string TemplateDatabase = $"authly_test_template_{RunId}";
    private static readonly ConcurrentQueue<string> Created = new();
    private static EmbeddedServices? _embedded;
    private static string? _serverUrl;
    private static string? _redisUrl;
    private static int _databases;

    public static string RedisUrl => _redisUrl ?? throw new InvalidOperationException("Test servers are not started.");

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var dbUrl = Environment.GetEnvironmentVariable("AUTHLY_TEST_DATABASE_URL");
        var redisUrl = Environment.GetEnvironmentVariable("AUTHLY_TEST_REDIS_URL");
        if (string.IsNullOrEmpty(dbUrl) || string.IsNullOrEmpty(redisUrl))
        {
            var dir = Path.Combine(Path.GetTempPath(), "authly-test-" + Guid.NewGuid().ToString("N")[..8]);
            try { _embedded = await EmbeddedServices.StartAsync(dir, "postgres"); }
            catch (Exception e)
            {
                Assert.Fail("Could not start PostgreSQL and Redis for the tests: " + e.Message +
                            "\nInstall them ('apt-get install postgresql redis-server', or run 'make test' as root, which does it), " +
                            "or point AUTHLY_TEST_DATABASE_URL and AUTHLY_TEST_REDIS_URL at servers you run.");
            }
            dbUrl = string.IsNullOrEmpty(dbUrl) ? _embedded!.DatabaseUrl : dbUrl;
            redisUrl = string.IsNullOrEmpty(redisUrl) ? _embedded!.RedisUrl : redisUrl;
        }
        ExternalDatabase = _embedded is null || dbUrl != _embedded.DatabaseUrl;
        _serverUrl = dbUrl;
        _redisUrl = redisUrl;
        DefaultTypeMap.MatchNamesWithUnderscores = true;

        await using (var admin = Open(_serverUrl))
        {
            await admin.ExecuteAsync($"DROP DATABASE IF EXISTS {TemplateDatabase}");
            await admin.ExecuteAsync($"CREATE DATABASE {TemplateDatabase}");
        }
        await using (var template = NpgsqlDataSource.Create(ConnectionString(TemplateDatabase) + ";Pooling=false"))
            await new Migrator(template).MigrateAsync(CancellationToken.None);
    }

    /// <summary>True when AUTHLY_TEST_DATABASE_URL points the run at a server it did not start.</summary>
    public static bool ExternalDatabase { get; private set; }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        // A private server's data directory goes below; an external one keeps what is not dropped.
        if (ExternalDatabase && _serverUrl is not null)
        {
            await using var admin = Open(_serverUrl);
            // Each DROP DATABASE waits for a checkpoint: on a busy server that outlasts the 30-s default.
            foreach (var name in Created.Append(TemplateDatabase))
                await admin.ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", commandTimeout: 600);
        }
        if (_embedded is not null) await _embedded.DisposeAsync();
        if (_embedded is not null && Directory.Exists(_embedded.DataDir))
            try { Directory.Delete(_embedded.DataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>A fresh, migrated database of its own; returns its URL.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var name = $"authly_t{RunId}_{Interlocked.Increment(ref _databases)}";
        Remember(name);
        await using var admin = Open(_serverUrl!);
        // Names are generated above from [a-z0-9_] only; identifiers cannot be bound as parameters.
        await admin.ExecuteAsync($"CREATE DATABASE {name} TEMPLATE {TemplateDatabase}");
        var b = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString(_serverUrl!)) { Database = name };
        return b.ConnectionString;
    }

    /// <summary>A database this run made on the server, dropped at the end if the server is external.</summary>
    public static string Remember(string database)
    {
        Created.Enqueue(database);
        return database;
    }

    public static string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString(_serverUrl!)) { Database = database }.ConnectionString;

    private static NpgsqlConnection Open(string url)
    {
        var conn = new NpgsqlConnection(DatabaseUrl.ToConnectionString(url) + ";Pooling=false");
        conn.Open();
        return conn;
    }
}
