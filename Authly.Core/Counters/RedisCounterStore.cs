using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Authly.Counters;

/// <summary>
/// Counters as Lua scripts, so each check-and-count is one atomic step on the Redis server.
/// While Redis cannot be reached, counting goes on in this process (limits then hold per node
/// instead of cluster-wide) rather than failing every token request: an outage of the counter
/// store must not become an outage of sign-in. Said once per outage, loudly.
/// </summary>
public sealed class RedisCounterStore(IConnectionMultiplexer redis, string prefix, InProcessCounterStore fallback, ILogger<RedisCounterStore> log) : ICounterStore
{
    private int _degraded;

    /// <summary>True while the last call to Redis failed and counters are kept in this process.</summary>
    public bool Degraded => Volatile.Read(ref _degraded) == 1;

    private async Task<T> OrLocallyAsync<T>(Func<Task<T>> shared, Func<Task<T>> local)
    {
        try
        {
            var result = await shared();
            if (Interlocked.Exchange(ref _degraded, 0) == 1)
                log.LogWarning("Redis is reachable again: rate limits and lockouts are shared by all nodes again");
            return result;
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or ObjectDisposedException)
        {
            if (Interlocked.Exchange(ref _degraded, 1) == 0)
                log.LogError("Redis is unreachable ({Error}): rate limits and lockouts are counted per node until it is back", e.GetType().Name);
            return await local();
        }
    }

    private static readonly LuaScript Hit = LuaScript.Prepare("""
        local c = redis.call('INCR', @key)
        if c == 1 then redis.call('PEXPIRE', @key, @windowMs) end
        local ttl = redis.call('PTTL', @key)
        if ttl < 0 then redis.call('PEXPIRE', @key, @windowMs); ttl = tonumber(@windowMs) end
        return {c, ttl}
        """);

    private static readonly LuaScript Fail = LuaScript.Prepare("""
        local locked = redis.call('PTTL', @lockKey)
        if locked > 0 then return locked end
        local c = redis.call('INCR', @failKey)
        if c == 1 then redis.call('PEXPIRE', @failKey, @lockMs) end
        if c >= tonumber(@max) then
          redis.call('SET', @lockKey, '1', 'PX', @lockMs)
          redis.call('DEL', @failKey)
          return tonumber(@lockMs)
        end
        return 0
        """);

    private IDatabase Db => redis.GetDatabase();

    public Task<(long Count, TimeSpan Remaining)> HitAsync(string key, TimeSpan window, CancellationToken ct) =>
        OrLocallyAsync(() => SharedHitAsync(key, window), () => fallback.HitAsync(key, window, ct));

    public Task<TimeSpan?> LockedForAsync(string key, CancellationToken ct) =>
        OrLocallyAsync(() => SharedLockedForAsync(key), () => fallback.LockedForAsync(key, ct));

    public Task<TimeSpan?> FailAsync(string key, int maxFailures, TimeSpan lockFor, CancellationToken ct) =>
        OrLocallyAsync(() => SharedFailAsync(key, maxFailures, lockFor), () => fallback.FailAsync(key, maxFailures, lockFor, ct));

    public async Task ResetAsync(string key, CancellationToken ct)
    {
        // Both: a lock counted here during an outage must end with an unlock too.
        await fallback.ResetAsync(key, ct);
        await OrLocallyAsync(async () => await Db.KeyDeleteAsync([(RedisKey)(prefix + "lock:" + key), (RedisKey)(prefix + "fail:" + key)]), () => Task.FromResult(0L));
    }

    private async Task<(long Count, TimeSpan Remaining)> SharedHitAsync(string key, TimeSpan window)
    {
        var result = (RedisResult[])(await Hit.EvaluateAsync(Db, new { key = (RedisKey)(prefix + "rl:" + key), windowMs = (long)window.TotalMilliseconds }))!;
        return ((long)result[0], TimeSpan.FromMilliseconds((long)result[1]));
    }

    private async Task<TimeSpan?> SharedLockedForAsync(string key)
    {
        var ttl = await Db.KeyTimeToLiveAsync(prefix + "lock:" + key);
        return ttl is { } t && t > TimeSpan.Zero ? t : null;
    }

    private async Task<TimeSpan?> SharedFailAsync(string key, int maxFailures, TimeSpan lockFor)
    {
        var ms = (long)(await Fail.EvaluateAsync(Db, new
        {
            lockKey = (RedisKey)(prefix + "lock:" + key),
            failKey = (RedisKey)(prefix + "fail:" + key),
            max = maxFailures,
            lockMs = (long)lockFor.TotalMilliseconds,
        }));
        return ms > 0 ? TimeSpan.FromMilliseconds(ms) : null;
    }
}
