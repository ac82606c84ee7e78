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
/// </summary>
[SetUpFixture]
public sealed class TestServers
{
    public const string TemplateDatabase = "authly_test_template";
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
                            "\nInstall them ('apt-get install postgresql redis-server libsodium23', or run 'make test' as root, which does it), " +
                            "or point AUTHLY_TEST_DATABASE_URL and AUTHLY_TEST_REDIS_URL at servers you run.");
            }
            dbUrl = string.IsNullOrEmpty(dbUrl) ? _embedded!.DatabaseUrl : dbUrl;
            redisUrl = string.IsNullOrEmpty(redisUrl) ? _embedded!.RedisUrl : redisUrl;
        }
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

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_embedded is not null) await _embedded.DisposeAsync();
        if (_embedded is not null && Directory.Exists(_embedded.DataDir))
            try { Directory.Delete(_embedded.DataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>A fresh, migrated database of its own; returns its URL.</summary>
    public static async Task<string> CreateDatabaseAsync()
    {
        var name = $"authly_t{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..6]}";
        await using var admin = Open(_serverUrl!);
        // Names are generated above from [a-z0-9_] only; identifiers cannot be bound as parameters.
        await admin.ExecuteAsync($"CREATE DATABASE {name} TEMPLATE {TemplateDatabase}");
        var b = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString(_serverUrl!)) { Database = name };
        return b.ConnectionString;
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
