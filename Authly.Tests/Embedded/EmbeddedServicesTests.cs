using System.Net;
using System.Net.Sockets;
using Authly.Embedded;
using Authly.Storage;
using Dapper;
using Npgsql;
using StackExchange.Redis;

namespace Authly.Tests.Embedded;

/// <summary>
/// The launcher behind `authly serve --embedded`: a private PostgreSQL and Redis under one data
/// directory, whose data and secrets survive a restart, and which leave nothing running when stopped.
/// </summary>
// NonParallelizable: it asserts that ports it freed stay closed, which a parallel fixture picking a free port may reuse.
[TestFixture, Category("Embedded"), NonParallelizable]
public sealed class EmbeddedServicesTests
{
    private string _dir = null!;

    [SetUp] public void CreateDirectory() => _dir = Path.Combine(Path.GetTempPath(), "authly-embedded-test-" + Guid.NewGuid().ToString("N")[..8]);

    [TearDown]
    public void DeleteDirectory()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static async Task<bool> AcceptsConnectionsAsync(int port)
    {
        using var client = new TcpClient();
        try { await client.ConnectAsync(IPAddress.Loopback, port); return true; }
        catch (SocketException) { return false; }
    }

    [Test]
    public async Task Restart_WithTheSameDirectory_KeepsDataAndSecrets_AndStopLeavesNothingListening()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;

        string jwt, jwtRefresh;
        int pgPort, redisPort;
        await using (var first = await EmbeddedServices.StartAsync(_dir, "authly", ct))
        {
            (jwt, jwtRefresh, pgPort, redisPort) = (first.JwtSecret, first.JwtRefreshSecret, first.Postgres.Port, first.Redis.Port);
            await using (var db = NpgsqlDataSource.Create(DatabaseUrl.ToConnectionString(first.DatabaseUrl)))
            await using (var conn = await db.OpenConnectionAsync(ct))
            {
                await conn.ExecuteAsync("CREATE TABLE survivors (name text)");
                await conn.ExecuteAsync("INSERT INTO survivors VALUES ('row written before the restart')");
            }
            using (var redis = await ConnectionMultiplexer.ConnectAsync(RedisUrl.Parse(first.RedisUrl)))
                await redis.GetDatabase().StringSetAsync("survivor", "kept in the append-only file");
            Assert.That(await AcceptsConnectionsAsync(pgPort) && await AcceptsConnectionsAsync(redisPort), Is.True);
        }

        await Assert.MultipleAsync(async () =>
        {
            Assert.That(await AcceptsConnectionsAsync(pgPort), Is.False, "PostgreSQL still listens after DisposeAsync");
            Assert.That(await AcceptsConnectionsAsync(redisPort), Is.False, "Redis still listens after DisposeAsync");
        });

        await using (var second = await EmbeddedServices.StartAsync(_dir, "authly", ct))
        {
            await using var db = NpgsqlDataSource.Create(DatabaseUrl.ToConnectionString(second.DatabaseUrl));
            await using var conn = await db.OpenConnectionAsync(ct);
            var rows = (await conn.QueryAsync<string>("SELECT name FROM survivors")).ToList();
            using var redis = await ConnectionMultiplexer.ConnectAsync(RedisUrl.Parse(second.RedisUrl));
            var cached = (string?)await redis.GetDatabase().StringGetAsync("survivor");
            Assert.Multiple(() =>
            {
                Assert.That(rows, Is.EqualTo(new[] { "row written before the restart" }));
                Assert.That(cached, Is.EqualTo("kept in the append-only file"));
                Assert.That(second.JwtSecret, Is.EqualTo(jwt), "stored signing keys stay readable");
                Assert.That(second.JwtRefreshSecret, Is.EqualTo(jwtRefresh));
            });
            (pgPort, redisPort) = (second.Postgres.Port, second.Redis.Port);
        }

        Assert.That(await AcceptsConnectionsAsync(pgPort), Is.False);
        Assert.That(await AcceptsConnectionsAsync(redisPort), Is.False);
    }

    [Test]
    public async Task Start_WritesItsSecretsReadableByTheOwnerOnly()
    {
        await using (await EmbeddedServices.StartAsync(_dir, "authly"))
        {
            var secrets = Path.Combine(_dir, "authly");
            Assert.That(File.GetUnixFileMode(secrets), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
            foreach (var file in new[] { "jwt.secret", "jwt-refresh.secret", "postgres.password", "redis.password" })
                Assert.That(File.GetUnixFileMode(Path.Combine(secrets, file)), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), file);
        }
    }

    [Test]
    public async Task Start_TheServersRequireTheirPasswords()
    {
        await using var services = await EmbeddedServices.StartAsync(_dir, "authly");
        var noPassword = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString(services.DatabaseUrl)) { Password = "wrong", Pooling = false };
        await using var conn = new NpgsqlConnection(noPassword.ConnectionString);
        Assert.ThrowsAsync<PostgresException>(() => conn.OpenAsync());

        var redisOptions = RedisUrl.Parse(services.RedisUrl);
        redisOptions.Password = null;
        using var redis = await ConnectionMultiplexer.ConnectAsync(redisOptions);
        Assert.That(() => redis.GetDatabase().StringGet("k"), Throws.Exception, "Redis answered without the password");
    }
}
