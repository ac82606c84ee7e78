using System.Collections.Concurrent;
using Authly.Telemetry;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Authly.Cluster;

/// <summary>
/// Redis pub/sub. While Redis is unreachable a message is delivered to this node's own subscribers
/// at once and kept (up to <see cref="MaxPending"/>, oldest dropped) to be published again when the
/// connection comes back; other nodes meanwhile rely on their periodic re-read of PostgreSQL.
/// </summary>
public sealed class RedisClusterBus : IClusterBus
{
    public const int MaxPending = 10_000;
    private readonly IConnectionMultiplexer _redis;
    private readonly string _prefix;
    private readonly ILogger<RedisClusterBus> _log;
    private readonly LocalClusterBus _local = new();
    private readonly ConcurrentQueue<(string Topic, string Message)> _pending = new();
    private int _failing;
    private int _flushing;

    public RedisClusterBus(IConnectionMultiplexer redis, string prefix, ILogger<RedisClusterBus>? log = null)
    {
        (_redis, _prefix, _log) = (redis, prefix, log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger<RedisClusterBus>.Instance);
        redis.ConnectionRestored += (_, _) => _ = FlushAsync();
    }

    /// <summary>Messages waiting for Redis to come back.</summary>
    public int Pending => _pending.Count;

    public async Task PublishAsync(string topic, string message)
    {
        // Publishing also delivers to this node's own subscription, so local caches are updated
        // by the same path as remote ones.
        // A client span by hand (see RedisCounterStore); the topic names a cache, the message (ids) stays out.
        using var span = AuthlyTracing.Source.StartActivity("redis PUBLISH", System.Diagnostics.ActivityKind.Client);
        span?.SetTag("db.system.name", "redis");
        span?.SetTag("authly.topic", topic);
        try
        {
            await _redis.GetSubscriber().PublishAsync(Channel(topic), message);
            if (Interlocked.Exchange(ref _failing, 0) == 1) _ = FlushAsync();
        }
        catch (Exception e) when (e is RedisException or ObjectDisposedException or TimeoutException)
        {
            span.Fail(e.GetType().Name);
            if (Interlocked.Exchange(ref _failing, 1) == 0)
                _log.LogWarning("Redis is unreachable ({Error}): cluster announcements are queued and other nodes rely on their periodic re-read until it is back",
                    e.GetType().Name);
            await _local.PublishAsync(topic, message);
            _pending.Enqueue((topic, message));
            while (_pending.Count > MaxPending) _pending.TryDequeue(out _);
        }
    }

    private async Task FlushAsync()
    {
        if (Interlocked.Exchange(ref _flushing, 1) == 1) return;
        try
        {
            while (_pending.TryPeek(out var item))
            {
                try { await _redis.GetSubscriber().PublishAsync(Channel(item.Topic), item.Message); }
                catch (Exception e) when (e is RedisException or ObjectDisposedException or TimeoutException) { return; }
                _pending.TryDequeue(out _);
            }
            Interlocked.Exchange(ref _failing, 0);
        }
        finally { Interlocked.Exchange(ref _flushing, 0); }
    }

    /// <summary>The channel of a topic: the prefix and the topic, literally (never a pattern, whatever it contains).</summary>
    private RedisChannel Channel(string topic) => RedisChannel.Literal(_prefix + topic);

    public void Subscribe(string topic, Action<string> handler)
    {
        _local.Subscribe(topic, handler);
        // The client records the subscription before it asks Redis, and renews every recorded one on each
        // (re)connect; so while Redis is unreachable (a node starting during an outage) the handler is kept
        // and takes effect when Redis is back. 1.2.6 said nothing here; 2.x and later throw.
        try { _redis.GetSubscriber().Subscribe(Channel(topic), (_, value) => handler(value!)); }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _log.LogWarning("Redis is unreachable ({Error}): announcements on {Topic} from other nodes are heard once it is back",
                e.GetType().Name, topic);
        }
    }
}
