using Authly.Embedded;

namespace Authly.Tests.Infrastructure;

/// <summary>
/// A private redis-server for one fixture, so a test can stop it (a Redis outage, for real) and
/// start it again on the same port without touching the Redis every other test shares.
/// </summary>
public sealed class KillableRedis : IAsyncDisposable
{
    private readonly string _dir;
    private readonly EmbeddedRedis _redis;
    private bool _running = true;

    private KillableRedis(string dir, EmbeddedRedis redis) => (_dir, _redis) = (dir, redis);

    public string Url => _redis.Url;

    public static async Task<KillableRedis> StartAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "authly-redis-" + Guid.NewGuid().ToString("N")[..8]);
        return new KillableRedis(dir, await EmbeddedRedis.StartAsync(dir, CancellationToken.None));
    }

    /// <summary>Stops Redis (SIGTERM) and waits until it has exited.</summary>
    public async Task StopAsync()
    {
        await _redis.DisposeAsync();
        _running = false;
    }

    /// <summary>Starts it again on the same port with the same password.</summary>
    public async Task RestartAsync()
    {
        await _redis.RestartAsync(CancellationToken.None);
        _running = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_running) await _redis.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
