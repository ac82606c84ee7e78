using Dapper;
using Npgsql;

namespace Authly.Tests.Infrastructure;

/// <summary>Server-level operations on the test PostgreSQL: empty databases, and breaking or mending one.</summary>
public static class DatabaseServer
{
    private static int _count;

    /// <summary>A new database with no schema at all (for migrator and CLI tests); returns its connection string.</summary>
    public static async Task<string> CreateEmptyDatabaseAsync()
    {
        var name = TestServers.Remember($"authly_empty{Interlocked.Increment(ref _count)}_{Guid.NewGuid().ToString("N")[..6]}");
        // The name is built above from [a-z0-9_]; identifiers cannot be bound as parameters.
        await ExecuteAsync($"CREATE DATABASE {name} TEMPLATE template0");
        return TestServers.ConnectionString(name);
    }

    /// <summary>Runs a statement on the server's maintenance database (DDL that cannot run inside the target database).</summary>
    public static async Task ExecuteAsync(string sql, object? args = null)
    {
        // Command Timeout=300: a DROP DATABASE waits for a checkpoint, which on a machine loaded by parallel fixtures
        // took longer than Npgsql's default 30 s (DatabaseConnectionsTests' teardown timed out under load).
        await using var conn = new NpgsqlConnection(TestServers.ConnectionString("postgres") + ";Pooling=false;Command Timeout=300");
        await conn.OpenAsync();
        await conn.ExecuteAsync(sql, args);
    }

    public static string DatabaseName(string connectionString) => new NpgsqlConnectionStringBuilder(connectionString).Database!;

    /// <summary>The postgresql:// URL form of a connection string, as DATABASE_URL takes it.</summary>
    public static string Url(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        var user = Uri.EscapeDataString(b.Username ?? "");
        var password = b.Password is null ? "" : ":" + Uri.EscapeDataString(b.Password);
        return $"postgresql://{user}{password}@{b.Host}:{b.Port}/{b.Database}";
    }

    /// <summary>Closes every connection to the database and refuses new ones, as if the server had gone away.</summary>
    public static async Task CutOffAsync(string database)
    {
        await ExecuteAsync($"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false");
        await ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = @Database AND pid <> pg_backend_pid()",
            new { Database = database });
    }

    public static Task RestoreAsync(string database) => ExecuteAsync($"ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS true");
}
