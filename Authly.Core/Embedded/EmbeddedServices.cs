using Authly.Security;

namespace Authly.Embedded;

/// <summary>
/// PostgreSQL and Redis for `authly serve --embedded`, the test harness and the standalone
/// container: started together, stopped together, data kept under one directory.
/// </summary>
public sealed class EmbeddedServices : IAsyncDisposable
{
    public EmbeddedPostgres Postgres { get; }
    public EmbeddedRedis Redis { get; }
    public string DataDir { get; }
    public string DatabaseUrl { get; }
    public string RedisUrl => Redis.Url;
    /// <summary>JWT_SECRET_KEY for this data directory: generated once and kept, so stored signing keys stay readable.</summary>
    public string JwtSecret { get; }
    public string JwtRefreshSecret { get; }

    private EmbeddedServices(string dataDir, EmbeddedPostgres pg, EmbeddedRedis redis, string database, string jwt, string jwtRefresh)
    {
        (DataDir, Postgres, Redis, JwtSecret, JwtRefreshSecret) = (dataDir, pg, redis, jwt, jwtRefresh);
        DatabaseUrl = pg.ServerUrl(database);
    }

    public static async Task<EmbeddedServices> StartAsync(string dataDir, string database = "authly", CancellationToken ct = default)
    {
        dataDir = Path.GetFullPath(dataDir);
        Directory.CreateDirectory(dataDir);
        File.SetUnixFileMode(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                                      UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var jwt = Secret(Path.Combine(dataDir, "jwt.secret"));
        var jwtRefresh = Secret(Path.Combine(dataDir, "jwt-refresh.secret"));
        var pgTask = EmbeddedPostgres.StartAsync(dataDir, ct);
        var redisTask = EmbeddedRedis.StartAsync(dataDir, ct);
        EmbeddedPostgres pg;
        EmbeddedRedis redis;
        try { pg = await pgTask; }
        catch { if (redisTask.IsCompletedSuccessfully) await redisTask.Result.DisposeAsync(); throw; }
        try { redis = await redisTask; }
        catch { await pg.DisposeAsync(); throw; }
        await pg.EnsureDatabaseAsync(database, null, ct);
        return new EmbeddedServices(dataDir, pg, redis, database, jwt, jwtRefresh);
    }

    private static string Secret(string path)
    {
        if (!File.Exists(path)) ChildProcess.WriteSecretFile(path, OpaqueToken.New(32));
        return File.ReadAllText(path).Trim();
    }

    public async ValueTask DisposeAsync()
    {
        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}
