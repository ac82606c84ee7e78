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

    /// <summary>The connection's state without a round trip (for a gauge read at every scrape): 1 connected, 0 not, -1 not configured.</summary>
    public int State => redis is null ? -1 : redis.IsConnected ? 1 : 0;

    /// <summary>"connected" (a PING answered), "disconnected" or "not configured".</summary>
    public string Check()
    {
        if (redis is null) return NotConfigured;
        if (!redis.IsConnected) return Disconnected;
        try { redis.GetDatabase().Ping(); return Connected; }
        catch (Exception) { return Disconnected; }
    }
}
