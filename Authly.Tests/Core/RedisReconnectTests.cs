using System.Collections.Concurrent;
using System.Net;
using Authly.Cluster;
using Authly.Configuration;
using Authly.Counters;
using Authly.Storage;
using Authly.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Authly.Tests.Core;

/// <summary>
/// Issue 15 (StackExchange.Redis 3.x instead of 1.2.6): the client reconnects by itself. After Redis is killed and
/// started again (empty, as after a crash), the Lua rate-limit counters are shared by the nodes again and pub/sub
/// announcements reach the other node, without restarting Authly; and a node started while Redis is down serves
/// with its in-process fallback and joins Redis when it comes up. Each test runs its own redis-server.
/// </summary>
[TestFixture, Category("Core")]
public sealed class RedisReconnectTests
{
    private const int Limit = 3;
    private const string ProbeTopic = "issue15-probe";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private PrivateRedis _redis = null!;

    [SetUp] public async Task StartRedisAsync() => _redis = await PrivateRedis.StartAsync();
    [TearDown] public Task StopRedisAsync() => _redis.DisposeAsync().AsTask();

    private Dictionary<string, string?> Settings(string prefix) => new()
    {
        ["REDIS_URL"] = _redis.Url,
        ["AUTHLY_REDIS_PREFIX"] = prefix,
        ["RATE_LIMIT_MAX_REQUESTS"] = Limit.ToString(),
        ["RATE_LIMIT_WINDOW_SECONDS"] = "300",
    };

    private static bool Connected(AuthlyApp node) => node.Services.GetRequiredService<IConnectionMultiplexer>().IsConnected;

    private static async Task<HttpStatusCode> RevokeAsync(AuthlyApp node) =>
        (await node.CreateClient().PostAsync("/api/v1/oauth/revoke", AuthlyApp.Form(("token", "x")))).StatusCode;

    /// <summary>Publishes from <paramref name="from"/> until <paramref name="heard"/> holds one of the messages (a renewed subscription takes effect asynchronously).</summary>
    private static Task<bool> HeardAsync(IClusterBus from, ConcurrentQueue<string> heard) =>
        Eventually.TrueAsync(async () =>
        {
            await from.PublishAsync(ProbeTopic, "m" + Guid.NewGuid().ToString("N"));
            return !heard.IsEmpty;
        }, Deadline);

    [Test, Description("Issue15: after a Redis restart the nodes share rate-limit counters and hear each other on the bus again, without restarting Authly")]
    public async Task Issue15_AfterARedisRestart_CountersAreSharedAndTheBusCarriesAnnouncementsAgain_WithoutRestartingAuthly()
    {
        var prefix = $"rc{Guid.NewGuid():N}:";
        using var first = await AuthlyApp.StartAsync(Settings(prefix));
        using var second = await AuthlyApp.StartAsync(Settings(prefix));
        var heardBySecond = new ConcurrentQueue<string>();
        second.Services.GetRequiredService<IClusterBus>().Subscribe(ProbeTopic, heardBySecond.Enqueue);

        await _redis.KillAsync();
        foreach (var node in new[] { first, second })
            Assert.That(await Eventually.TrueAsync(() => Task.FromResult(!Connected(node)), Deadline), Is.True, "precondition: the node noticed the outage");
        Assert.That(await RevokeAsync(first), Is.Not.EqualTo(HttpStatusCode.InternalServerError), "answered during the outage");

        await _redis.RestartAsync();
        foreach (var node in new[] { first, second })
            Assert.That(await Eventually.TrueAsync(() => Task.FromResult(Connected(node)), Deadline), Is.True, "the node did not reconnect to Redis");

        Assert.That(await HeardAsync(first.Services.GetRequiredService<IClusterBus>(), heardBySecond), Is.True,
            "an announcement published on the first node after the restart never reached the second");

        // Redis came back empty: one fresh budget of Limit for both nodes together (the Lua script is loaded again).
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 2 * Limit; i++) statuses.Add(await RevokeAsync(i % 2 == 0 ? first : second));
        Assert.Multiple(() =>
        {
            Assert.That(statuses.Count(s => s != HttpStatusCode.TooManyRequests), Is.EqualTo(Limit), "shared again: " + string.Join(",", statuses));
            Assert.That(((RedisCounterStore)first.Services.GetRequiredService<ICounterStore>()).Degraded, Is.False);
            Assert.That(((RedisCounterStore)second.Services.GetRequiredService<ICounterStore>()).Degraded, Is.False);
        });
    }

    [Test, Description("Issue15: a node started while Redis is down serves (AbortOnConnectFail=false) with per-node counting, and uses Redis for counters and the bus once it is up")]
    public async Task Issue15_NodeStartedWhileRedisIsDown_ServesWithTheInProcessFallback_AndJoinsRedisWhenItComesUp()
    {
        await _redis.KillAsync();
        var prefix = $"rc{Guid.NewGuid():N}:";
        using var node = await AuthlyApp.StartAsync(Settings(prefix));
        var store = (RedisCounterStore)node.Services.GetRequiredService<ICounterStore>();
        var heard = new ConcurrentQueue<string>();
        node.Services.GetRequiredService<IClusterBus>().Subscribe(ProbeTopic, heard.Enqueue);

        var health = await node.CreateClient().GetStringAsync("/health");
        Assert.That(health, Does.Contain("\"redis\":\"disconnected\""));
        var during = new List<HttpStatusCode>();
        for (var i = 0; i < Limit + 2; i++) during.Add(await RevokeAsync(node));
        Assert.Multiple(() =>
        {
            Assert.That(during.Count(s => s != HttpStatusCode.TooManyRequests), Is.EqualTo(Limit), "limited in this process: " + string.Join(",", during));
            Assert.That(store.Degraded, Is.True);
        });

        await _redis.RestartAsync();
        Assert.That(await Eventually.TrueAsync(() => Task.FromResult(Connected(node)), Deadline), Is.True, "the node never connected to Redis");

        // Another node's announcement: a plain client with the same options and prefix.
        using var other = await ConnectionMultiplexer.ConnectAsync(RedisUrl.Parse(_redis.Url));
        Assert.That(node.Services.GetRequiredService<AuthlyOptions>().RedisPrefix, Is.EqualTo(prefix));
        Assert.That(await HeardAsync(new RedisClusterBus(other, prefix), heard), Is.True,
            "a subscription made while Redis was down was not renewed when it came up");

        Assert.That(await RevokeAsync(node), Is.Not.EqualTo(HttpStatusCode.TooManyRequests), "Redis's fresh budget, not the spent local one");
        Assert.That(store.Degraded, Is.False, "counting in Redis again");
        Assert.That(await node.CreateClient().GetStringAsync("/health"), Does.Contain("\"redis\":\"connected\""));
    }
}
