using Authly.Cluster;
using Authly.Storage;
using Authly.Tests.Cluster;
using StackExchange.Redis;

namespace Authly.Tests.Core;

/// <summary>
/// IClusterBus publishing is best effort: a committed change is never reported as failed because
/// Redis could not carry its announcement (issue 12, finding 1).
/// </summary>
[TestFixture, Category("Core")]
public sealed class ClusterBusTests
{
    [Test]
    public async Task Publish_WhileRedisIsUnreachable_DoesNotThrow_DeliversLocally_AndQueues()
    {
        // A port nobody listens on: the multiplexer exists (AbortOnConnectFail=false) but every command fails.
        using var redis = await ConnectionMultiplexer.ConnectAsync(RedisUrl.Parse($"redis://127.0.0.1:{AuthlyNode.FreePort()}"));
        var bus = new RedisClusterBus(redis, "t:");
        var seen = new List<string>();
        bus.Subscribe("topic", seen.Add);

        Assert.DoesNotThrowAsync(() => bus.PublishAsync("topic", "m1"));
        Assert.DoesNotThrowAsync(() => bus.PublishAsync("topic", "m2"));

        Assert.That(seen, Is.EqualTo(new[] { "m1", "m2" }), "this node's own caches hear the change at once");
        Assert.That(bus.Pending, Is.EqualTo(2), "kept for other nodes until Redis is back");
    }

    [Test]
    public async Task Publish_WithRedisUp_ReachesAnotherNode()
    {
        using var a = await ConnectionMultiplexer.ConnectAsync(RedisUrl.Parse(TestServers.RedisUrl));
        using var b = await ConnectionMultiplexer.ConnectAsync(RedisUrl.Parse(TestServers.RedisUrl));
        var prefix = $"bus{Guid.NewGuid():N}:";
        var seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        new RedisClusterBus(b, prefix).Subscribe("topic", m => seen.TrySetResult(m));
        var busA = new RedisClusterBus(a, prefix);
        // Subscribe returns before Redis has confirmed the subscription, and pub/sub keeps nothing for a subscriber
        // that is not there yet: publish until the other node hears it (a deadline, not a sleep).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!seen.Task.IsCompleted && DateTime.UtcNow < deadline)
        {
            await busA.PublishAsync("topic", "hello");
            await Task.WhenAny(seen.Task, Task.Delay(200));
        }
        Assert.That(await seen.Task.WaitAsync(TimeSpan.FromSeconds(1)), Is.EqualTo("hello"));
        Assert.That(busA.Pending, Is.Zero);
    }
}
