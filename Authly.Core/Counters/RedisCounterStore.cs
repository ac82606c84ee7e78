using Microsoft.Extensions.Logging;
using Authly.Telemetry;
using StackExchange.Redis;

namespace Authly.Counters;

/// <summary>
/// Rate-limit counters as one Lua script, so each count is one atomic step on the Redis server.
/// While Redis cannot be reached, counting goes on in this process (limits then hold per node
/// instead of cluster-wide) rather than failing every request: rate limits are for availability,
/// and an outage of the counter store must not become an outage of the server. Said once per
/// outage, loudly, and visible as <see cref="Degraded"/> and <see cref="CountedLocally"/> (metrics).
/// Lockouts never take this path: they live in <see cref="AttemptGuardStore"/>.
/// </summary>
public sealed class RedisCounterStore(IConnectionMultiplexer redis, string prefix, InProcessCounterStore fallback, ILogger<RedisCounterStore> log) : ICounterStore
{
    private int _degraded;

    /// <summary>True while the last call to Redis failed and counters are kept in this process.</summary>
    public bool Degraded => Volatile.Read(ref _degraded) == 1;

    /// <summary>Raised for each hit counted in this process because Redis was unreachable.</summary>
    public event Action? CountedLocally;

    private static readonly LuaScript Hit = LuaScript.Prepare("""
        local c = redis.call('INCR', @key)
        if c == 1 then redis.call('PEXPIRE', @key, @windowMs) end
        local ttl = redis.call('PTTL', @key)
        if ttl < 0 then redis.call('PEXPIRE', @key, @windowMs); ttl = tonumber(@windowMs) end
        return {c, ttl}
        """);

    public async Task<(long Count, TimeSpan Remaining)> HitAsync(string key, TimeSpan window, CancellationToken ct)
    {
        // A client span by hand: the OpenTelemetry Redis instrumentation needs StackExchange.Redis 2.x. No key in it (keys hold IPs and user names).
        using var span = AuthlyTracing.Source.StartActivity("redis EVALSHA", System.Diagnostics.ActivityKind.Client);
        span?.SetTag("db.system.name", "redis");
        try
        {
            var result = (RedisResult[])(await Hit.EvaluateAsync(redis.GetDatabase(),
                new { key = (RedisKey)(prefix + "rl:" + key), windowMs = (long)window.TotalMilliseconds }))!;
            if (Interlocked.Exchange(ref _degraded, 0) == 1)
                log.LogWarning("Redis is reachable again: rate limits are shared by all nodes again");
            return ((long)result[0], TimeSpan.FromMilliseconds((long)result[1]));
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or ObjectDisposedException)
        {
            if (Interlocked.Exchange(ref _degraded, 1) == 0)
                log.LogError("Redis is unreachable ({Error}): rate limits are counted per node until it is back (lockouts are unaffected: they are kept in PostgreSQL)",
                    e.GetType().Name);
            span.Fail(e.GetType().Name);
            CountedLocally?.Invoke();
            return await fallback.HitAsync(key, window, ct);
        }
    }
}
