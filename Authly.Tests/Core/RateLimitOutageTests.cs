using System.Net;
using Authly.Counters;
using Authly.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Authly.Tests.Core;

/// <summary>
/// Issue 12 finding 2, the availability half: rate limits (unlike lockouts) may degrade while Redis
/// is unreachable. They keep limiting, counted per node, say so once, show it on /metrics, and are
/// shared again when Redis is back.
/// </summary>
[TestFixture, Category("Core")]
public sealed class RateLimitOutageTests
{
    private const int Limit = 3;

    [Test, Description("Issue12_Finding2: during a Redis outage rate limits count per node, authly_counter_store_degraded and authly_rate_limit_local_total show it, and Redis coming back ends it")]
    public async Task Issue12_Finding2_RateLimit_DuringARedisOutage_CountsPerNode_ShowsTheMetric_AndRecovers()
    {
        await using var redis = await PrivateRedis.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["REDIS_URL"] = redis.Url,
            ["RATE_LIMIT_MAX_REQUESTS"] = Limit.ToString(),
            ["RATE_LIMIT_WINDOW_SECONDS"] = "300",
        };
        using var first = await AuthlyApp.StartAsync(settings);
        using var second = await AuthlyApp.StartAsync(settings);
        var store = (RedisCounterStore)first.Services.GetRequiredService<ICounterStore>();

        await redis.KillAsync();
        foreach (var node in new[] { first, second })
            Assert.That(await Eventually.TrueAsync(() => Task.FromResult(!node.Services.GetRequiredService<IConnectionMultiplexer>().IsConnected), TimeSpan.FromSeconds(30)), Is.True);

        var onFirst = await StatusesAsync(first, Limit + 2);
        var onSecond = await StatusesAsync(second, Limit + 2);
        Assert.Multiple(() =>
        {
            Assert.That(onFirst.Count(s => s != HttpStatusCode.TooManyRequests), Is.EqualTo(Limit), "still limited during the outage: " + string.Join(",", onFirst));
            Assert.That(onSecond.Count(s => s != HttpStatusCode.TooManyRequests), Is.EqualTo(Limit), "each node counts on its own: " + string.Join(",", onSecond));
            Assert.That(store.Degraded, Is.True);
        });
        var metrics = await (await first.CreateClient().GetAsync("/metrics")).Content.ReadAsStringAsync();
        // A series without labels: "name value" or "name{} value" (the same series in the Prometheus text format; the OpenTelemetry exporter writes the braces).
        Assert.That(metrics, Does.Match(@"\nauthly_counter_store_degraded(\{\})? 1\n"));
        Assert.That(metrics, Does.Match(@"\nauthly_rate_limit_local_total(\{\})? [1-9][0-9]*\n"), "hits counted locally");

        await redis.RestartAsync();
        Assert.That(await Eventually.TrueAsync(() => Task.FromResult(first.Services.GetRequiredService<IConnectionMultiplexer>().IsConnected), TimeSpan.FromSeconds(60)), Is.True);
        await first.CreateClient().PostAsync("/api/v1/oauth/revoke", AuthlyApp.Form(("token", "x")));
        Assert.That(store.Degraded, Is.False, "shared again once Redis answers");
        var after = await (await first.CreateClient().GetAsync("/metrics")).Content.ReadAsStringAsync();
        Assert.That(after, Does.Match(@"\nauthly_counter_store_degraded(\{\})? 0\n"));
    }

    private static async Task<List<HttpStatusCode>> StatusesAsync(AuthlyApp node, int count)
    {
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < count; i++)
            statuses.Add((await node.CreateClient().PostAsync("/api/v1/oauth/revoke", AuthlyApp.Form(("token", "x")))).StatusCode);
        return statuses;
    }
}
