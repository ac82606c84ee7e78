using System.Diagnostics;
using Authly.Security;
using Authly.Tests.Infrastructure;
using Dapper;
using Npgsql;
using static Authly.Tests.Faults.FaultCluster;

namespace Authly.Tests.Faults;

/// <summary>
/// Issue 12 finding 6: a PostgreSQL with few free connections (a role with CONNECTION LIMIT 3, as a shared server
/// with 3 free slots). With the default pool the node must still answer cleanly (200, or 503 + Retry-After); with
/// max_pool_size=3 in DATABASE_URL it must queue and answer every request.
/// </summary>
[TestFixture, Category("Faults"), NonParallelizable]
public sealed class ConnectionPressureTests
{
    private const int Parallel = 40;
    private string _database = null!;
    private string _role = null!;
    private string _password = null!;
    private AuthlyApp _setup = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _setup = await AuthlyApp.StartAsync();
        _database = DatabaseServer.DatabaseName(_setup.DatabaseConnectionString);
        _role = "authly_cl3_" + Guid.NewGuid().ToString("N")[..8];
        _password = OpaqueToken.New(16);
        // Identifiers are built above from [a-z0-9_]; the password from the URL-safe alphabet. Neither can be a parameter in DDL.
        await DatabaseServer.ExecuteAsync($"CREATE ROLE {_role} LOGIN NOSUPERUSER CONNECTION LIMIT 3 PASSWORD '{_password}'");
        await InDatabaseAsync($"""
            GRANT CONNECT ON DATABASE {_database} TO {_role};
            GRANT USAGE ON SCHEMA public TO {_role};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {_role};
            GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {_role};
            """);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _setup.Dispose();
        await WaitForNoBackendsAsync();
        await InDatabaseAsync($"DROP OWNED BY {_role}");
        await DatabaseServer.ExecuteAsync($"DROP ROLE IF EXISTS {_role}");
    }

    private async Task InDatabaseAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(_setup.DatabaseConnectionString + ";Pooling=false");
        await conn.OpenAsync();
        await conn.ExecuteAsync(sql);
    }

    private async Task WaitForNoBackendsAsync()
    {
        var gone = await Eventually.TrueAsync(async () =>
        {
            await using var conn = new NpgsqlConnection(TestServers.ConnectionString("postgres") + ";Pooling=false");
            await conn.OpenAsync();
            return await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE usename = @Role", new { Role = _role }) == 0;
        }, TimeSpan.FromSeconds(10));
        Assert.That(gone, Is.True, "the limited role's connections did not close");
    }

    private string LimitedUrl(string query)
    {
        var b = new NpgsqlConnectionStringBuilder(_setup.DatabaseConnectionString);
        return $"postgresql://{_role}:{Uri.EscapeDataString(_password)}@{b.Host}:{b.Port}/{b.Database}{query}";
    }

    /// <summary>40 refresh tokens of their own, issued by the unrestricted node.</summary>
    private async Task<List<string>> RefreshTokensAsync()
    {
        var http = _setup.CreateClient();
        var tokens = new List<string>();
        // Eight at a time: quick, and the Argon2 memory of 40 at once would not be.
        foreach (var batch in Enumerable.Range(0, Parallel).Chunk(8))
            tokens.AddRange(await Task.WhenAll(batch.Select(async _ =>
                AuthlyApp.Str(await SignInAsync(http, AuthlyApp.AdminUsername, AuthlyApp.AdminPassword), "refresh_token"))));
        return tokens;
    }

    private async Task<List<(int Status, System.Text.Json.Nodes.JsonObject Body, HttpResponseMessage Response)>> UnderPressureAsync(string databaseUrl)
    {
        var tokens = await RefreshTokensAsync();
        await WaitForNoBackendsAsync();
        var settings = new Dictionary<string, string?> { ["DATABASE_URL"] = databaseUrl, ["AUTHLY_MIGRATE_ON_START"] = "false" };
        using var limited = await AuthlyApp.StartOnDatabaseAsync(_setup.DatabaseConnectionString, settings);
        var http = limited.CreateClient();
        http.Timeout = TimeSpan.FromSeconds(30);
        var watch = Stopwatch.StartNew();
        var answers = await Task.WhenAll(tokens.Select(t => RefreshAsync(http, t)));
        Record($"{Parallel} parallel refreshes against 3 connections ({databaseUrl[databaseUrl.IndexOf('@')..]}): " +
               string.Join(", ", answers.GroupBy(a => a.Status).Select(g => $"{g.Key}×{g.Count()}")), watch.Elapsed);
        return [.. answers];
    }

    [Test, Description("Issue 12 finding 6: the default pool against 3 free connections answers 200 or 503 + Retry-After, never 500")]
    public async Task FortyParallelTokenRequests_DefaultPool_ThreeFreeConnections_AnswerCleanly_Never500()
    {
        var answers = await UnderPressureAsync(LimitedUrl(""));
        foreach (var a in answers.Where(a => a.Status != 200))
            AssertTemporarilyUnavailable("a request that found no free connection", a);
    }

    [Test, Description("Issue 12 finding 6: max_pool_size=3 in DATABASE_URL queues instead of failing: every request answered 200")]
    public async Task FortyParallelTokenRequests_MaxPoolSize3_ThreeFreeConnections_AllAnswer200()
    {
        var answers = await UnderPressureAsync(LimitedUrl("?max_pool_size=3&connect_timeout=15"));
        Assert.That(answers.Select(a => a.Status), Has.All.EqualTo(200),
            string.Join("\n", answers.Where(a => a.Status != 200).Select(a => a.Body.ToJsonString()).Distinct()));
    }
}
