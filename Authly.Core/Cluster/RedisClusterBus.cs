using StackExchange.Redis;

namespace Authly.Cluster;

public sealed class RedisClusterBus(IConnectionMultiplexer redis, string prefix) : IClusterBus
{
    // Publishing also delivers to this node's own subscription, so local caches are updated
    // by the same path as remote ones.
    public Task PublishAsync(string topic, string message) =>
        redis.GetSubscriber().PublishAsync(prefix + topic, message);

    public void Subscribe(string topic, Action<string> handler) =>
        redis.GetSubscriber().Subscribe(prefix + topic, (_, value) => handler(value!));
}
