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
    /// <summary>Where DATABASE_URL and REDIS_URL (with their passwords) are written for the owner: &lt;data-dir&gt;/authly/credentials.env, 0600.</summary>
    public string CredentialsFile => Path.Combine(DataDir, "authly", "credentials.env");
    /// <summary>The service addresses without passwords, for banners.</summary>
    public string DatabaseDisplayUrl { get; }
    public string RedisDisplayUrl => $"redis://127.0.0.1:{Redis.Port}";
    /// <summary>JWT_SECRET_KEY for this data directory: generated once and kept, so stored signing keys stay readable.</summary>
    public string JwtSecret { get; }
    public string JwtRefreshSecret { get; }

    private EmbeddedServices(string dataDir, EmbeddedPostgres pg, EmbeddedRedis redis, string database, string jwt, string jwtRefresh)
    {
        (DataDir, Postgres, Redis, JwtSecret, JwtRefreshSecret) = (dataDir, pg, redis, jwt, jwtRefresh);
        DatabaseUrl = pg.ServerUrl(database);
        DatabaseDisplayUrl = pg.DisplayUrl(database);
    }

    /// <summary>Fixed ports (0 = a free one) and the address PostgreSQL and Redis listen on (loopback unless asked).</summary>
    public sealed record Options(int PostgresPort = 0, int RedisPort = 0, string Listen = "127.0.0.1");

    /// <summary>Where generated secrets live: &lt;data-dir&gt;/authly, mode 0700 (the container's /data/authly).</summary>
    public static string SecretsDir(string dataDir)
    {
        var dir = Path.Combine(Path.GetFullPath(dataDir), "authly");
        ChildProcess.CloseDirectory(dir);
        return dir;
    }

    public static async Task<EmbeddedServices> StartAsync(string dataDir, string database = "authly", CancellationToken ct = default, Options? options = null)
    {
        options ??= new Options();
        dataDir = Path.GetFullPath(dataDir);
        await CloseDataDirectoryAsync(dataDir, ct);
        var jwt = Secret(Path.Combine(SecretsDir(dataDir), "jwt.secret"));
        var jwtRefresh = Secret(Path.Combine(SecretsDir(dataDir), "jwt-refresh.secret"));
        var pgTask = EmbeddedPostgres.StartAsync(dataDir, ct, options.PostgresPort, options.Listen);
        var redisTask = EmbeddedRedis.StartAsync(dataDir, ct, options.RedisPort, options.Listen);
        EmbeddedPostgres pg;
        EmbeddedRedis redis;
        try { pg = await pgTask; }
        catch { if (redisTask.IsCompletedSuccessfully) await redisTask.Result.DisposeAsync(); throw; }
        try { redis = await redisTask; }
        catch { await pg.DisposeAsync(); throw; }
        await pg.EnsureDatabaseAsync(database, null, ct);
        var services = new EmbeddedServices(dataDir, pg, redis, database, jwt, jwtRefresh);
        ChildProcess.WriteSecretFile(services.CredentialsFile,
            "# Written by Authly's embedded mode at each start (the ports may change). Owner only: keep it so.\n" +
            $"DATABASE_URL={services.DatabaseUrl}\nREDIS_URL={services.RedisUrl}\n");
        return services;
    }

    /// <summary>
    /// The data directory is the owner's alone (0700). As root, PostgreSQL runs as the postgres
    /// system user, which must pass through it to its own 0700 cluster: then the directory belongs
    /// to the postgres group with search permission only (0710), still closed to everyone else.
    /// </summary>
    private static async Task CloseDataDirectoryAsync(string dataDir, CancellationToken ct)
    {
        Directory.CreateDirectory(dataDir);
        var mode = ChildProcess.OwnerOnly;
        if (ChildProcess.IsRoot)
        {
            await ChildProcess.RunCheckedAsync("chgrp", ["postgres", dataDir], null, ct);
            mode |= UnixFileMode.GroupExecute;
        }
        File.SetUnixFileMode(dataDir, mode);
    }

    private static string Secret(string path)
    {
        if (!File.Exists(path)) ChildProcess.WriteSecretFile(path, OpaqueToken.New(32));
        return File.ReadAllText(path).Trim();
    }

    /// <summary>
    /// Watches both children until <paramref name="ct"/> ends. A child that dies is started again;
    /// one that dies more than three times in five minutes is given up on and the returned task
    /// fails, so the caller can stop and exit non-zero (a container then gets restarted).
    /// </summary>
    public async Task SuperviseAsync(Action<string> log, CancellationToken ct)
    {
        var restarts = new Queue<DateTime>();
        while (!ct.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), ct).ContinueWith(_ => { }, CancellationToken.None);
            if (ct.IsCancellationRequested || _disposing) return;
            foreach (var (name, hasExited, restart) in new (string, bool, Func<CancellationToken, Task>)[]
                     { ("PostgreSQL", Postgres.HasExited, Postgres.RestartAsync), ("Redis", Redis.HasExited, Redis.RestartAsync) })
            {
                if (!hasExited || _disposing) continue;
                while (restarts.Count > 0 && restarts.Peek() < DateTime.UtcNow.AddMinutes(-5)) restarts.Dequeue();
                if (restarts.Count >= 3) throw new InvalidOperationException($"{name} keeps exiting; giving up after {restarts.Count} restarts in five minutes.");
                restarts.Enqueue(DateTime.UtcNow);
                log($"{name} exited unexpectedly; starting it again.");
                await restart(ct);
                log($"{name} is running again.");
            }
        }
    }

    private volatile bool _disposing;

    public async ValueTask DisposeAsync()
    {
        _disposing = true;
        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
    }
}
