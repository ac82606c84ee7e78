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

    // KEYS: lock and fail key of each guarded key in turn; ARGV: the lock time, then each key's limit.
    // Refuse while any key is locked (count nothing); else count on every key and lock those at their limit.
    private const string Reserve = """
        local n = #KEYS / 2
        local worst, which = 0, 0
        for i = 1, n do
          local ttl = redis.call('PTTL', KEYS[2 * i - 1])
          if ttl > worst then worst = ttl; which = i end
        end
        if worst > 0 then return {which, worst} end
        for i = 1, n do
          local c = redis.call('INCR', KEYS[2 * i])
          if c == 1 then redis.call('PEXPIRE', KEYS[2 * i], ARGV[1]) end
          if c >= tonumber(ARGV[i + 1]) then redis.call('SET', KEYS[2 * i - 1], '1', 'PX', ARGV[1]) end
        end
        return {0, 0}
        """;

    private const string Release = """
        local c = 0
        if redis.call('EXISTS', KEYS[2]) == 1 then
          c = redis.call('DECR', KEYS[2])
          if c <= 0 then redis.call('DEL', KEYS[2]) end
        end
        if c < tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) end
        return c
        """;

    private IDatabase Db => redis.GetDatabase();

    public Task<(int Index, TimeSpan LockedFor)?> ReserveAsync(IReadOnlyList<(string Key, int Max)> keys, TimeSpan lockFor, CancellationToken ct) =>
        OrLocallyAsync(() => SharedReserveAsync(keys, lockFor), () => fallback.ReserveAsync(keys, lockFor, ct));

    public Task ReleaseAsync(string key, int max, CancellationToken ct) =>
        OrLocallyAsync(async () =>
        {
            await Db.ScriptEvaluateAsync(Release, [(RedisKey)(prefix + "lock:" + key), (RedisKey)(prefix + "fail:" + key)], [max]);
            return true;
        }, async () => { await fallback.ReleaseAsync(key, max, ct); return true; });

    private async Task<(int Index, TimeSpan LockedFor)?> SharedReserveAsync(IReadOnlyList<(string Key, int Max)> keys, TimeSpan lockFor)
    {
        var redisKeys = keys.SelectMany(k => new[] { (RedisKey)(prefix + "lock:" + k.Key), (RedisKey)(prefix + "fail:" + k.Key) }).ToArray();
        var values = keys.Select(k => (RedisValue)k.Max).Prepend((long)lockFor.TotalMilliseconds).ToArray();
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(Reserve, redisKeys, values))!;
        var which = (int)result[0];
        return which == 0 ? null : (which - 1, TimeSpan.FromMilliseconds((long)result[1]));
    }

    public Task<(long Count, TimeSpan Remaining)> HitAsync(string key, TimeSpan window, CancellationToken ct) =>
        OrLocallyAsync(() => SharedHitAsync(key, window), () => fallback.HitAsync(key, window, ct));

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
}
