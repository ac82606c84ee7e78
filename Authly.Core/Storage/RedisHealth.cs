using StackExchange.Redis;

namespace Authly.Storage;

/// <summary>
/// Is the configured Redis reachable? Registered always, so /health and /admin/status take it as a
/// dependency instead of looking the connection up: without AUTHLY_REDIS_URL it answers "not configured".
/// </summary>
public sealed class RedisHealth(IConnectionMultiplexer? redis)
{
    public const string NotConfigured = "not configured";
    public const string Connected = "connected";
    public const string Disconnected = "disconnected";

    public bool IsConfigured => redis is not null;

    /// <summary>"connected" (a PING answered), "disconnected" or "not configured".</summary>
    public string Check()
    {
        if (redis is null) return NotConfigured;
        if (!redis.IsConnected) return Disconnected;
        try { redis.GetDatabase().Ping(); return Connected; }
        catch (Exception) { return Disconnected; }
    }
}
