using StackExchange.Redis;

namespace Authly.Counters;

/// <summary>Counters as Lua scripts, so each check-and-count is one atomic step on the Redis server.</summary>
public sealed class RedisCounterStore(IConnectionMultiplexer redis, string prefix) : ICounterStore
{
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

    public async Task<(long Count, TimeSpan Remaining)> HitAsync(string key, TimeSpan window, CancellationToken ct)
    {
        var result = (RedisResult[])(await Hit.EvaluateAsync(Db, new { key = (RedisKey)(prefix + "rl:" + key), windowMs = (long)window.TotalMilliseconds }))!;
        return ((long)result[0], TimeSpan.FromMilliseconds((long)result[1]));
    }

    public async Task<TimeSpan?> LockedForAsync(string key, CancellationToken ct)
    {
        var ttl = await Db.KeyTimeToLiveAsync(prefix + "lock:" + key);
        return ttl is { } t && t > TimeSpan.Zero ? t : null;
    }

    public async Task<TimeSpan?> FailAsync(string key, int maxFailures, TimeSpan lockFor, CancellationToken ct)
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

    public Task ResetAsync(string key, CancellationToken ct) =>
        Db.KeyDeleteAsync([(RedisKey)(prefix + "lock:" + key), (RedisKey)(prefix + "fail:" + key)]);
}
