using System.Net;
using Authly.Tests.Infrastructure;
using Npgsql;

namespace Authly.Tests.Cluster;

/// <summary>
/// Issue 12 finding 6: a PostgreSQL with few free connections. A node whose pool fits in what the
/// server allows (here a role with CONNECTION LIMIT 3 and max_pool_size=3 in DATABASE_URL) queues
/// a burst instead of failing it.
/// </summary>
[TestFixture, Category("Cluster"), NonParallelizable]
public sealed class ConnectionLimitTests
{
    private AuthlyApp _app = null!;
    private string _role = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _app = await AuthlyApp.StartAsync();
        _role = "authly_lim_" + Guid.NewGuid().ToString("N")[..8];
        // The role name is generated from [a-z0-9_]; identifiers and passwords cannot be bound as parameters.
        await _app.SqlScalarAsync<int>($"""
            CREATE ROLE {_role} LOGIN PASSWORD 'limited-pw' CONNECTION LIMIT 3;
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {_role};
            GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {_role};
            SELECT 1
            """);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await _app.SqlScalarAsync<int>($"DROP OWNED BY {_role}; SELECT 1");
        await using (var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_app.DatabaseConnectionString) { Pooling = false }.ConnectionString))
        {
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP ROLE IF EXISTS {_role}", admin);
            await drop.ExecuteNonQueryAsync();
        }
        _app.Dispose();
    }

    private string LimitedDatabaseUrl(string extra)
    {
        var b = new NpgsqlConnectionStringBuilder(_app.DatabaseConnectionString);
        var host = b.Host!.Contains(':') ? $"[{b.Host}]" : b.Host;
        return $"postgresql://{_role}:limited-pw@{host}:{b.Port}/{b.Database}?{extra}";
    }

    [Test, Description("Issue12_Finding6: 40 parallel token requests against a role with 3 connections and max_pool_size=3 all succeed (they queue for the pool)")]
    public async Task TokenBurst_WithPoolSizedToTheRoleLimit_AllSucceed()
    {
        using var node = _app.StartPeer(overrides: new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = LimitedDatabaseUrl("max_pool_size=3&connect_timeout=15"),
            ["AUTHLY_MIGRATE_ON_START"] = "false",
        });
        var (id, secret) = await _app.CreateConfidentialClientAsync(grants: ["client_credentials"]);
        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ =>
            node.PostFormAsync("/api/v1/oauth/token", AuthlyApp.Basic(id, secret!), ("grant_type", "client_credentials"), ("scope", "read"))));
        var statuses = responses.GroupBy(r => (int)r.StatusCode).ToDictionary(g => g.Key, g => g.Count());
        Assert.That(statuses, Is.EqualTo(new Dictionary<int, int> { [200] = 40 }),
            string.Join(", ", statuses.Select(kv => $"{kv.Key}×{kv.Value}")));
        Assert.That(await _app.SqlScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE usename = @Role", new { Role = _role }),
            Is.LessThanOrEqualTo(3));
    }
}
