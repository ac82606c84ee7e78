using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Cluster;

/// <summary>Issue 12 finding 8: on SIGTERM a node leaves its load balancer first, keeps serving for the drain period, then exits cleanly.</summary>
[TestFixture, Category("Cluster"), NonParallelizable]
public sealed class ShutdownDrainTests
{
    private const int DrainSeconds = 4;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [OneTimeTearDown]
    public void Dispose() => _http.Dispose();

    [Test, Description("Issue12_Finding8: after SIGTERM /health/ready is 503 at once, token requests still succeed, and the process exits 0 after the drain")]
    public async Task Sigterm_ReadinessFailsAtOnce_RequestsAreServedDuringTheDrain_ThenTheProcessExitsZero()
    {
        var env = ClusterEnvironment.For(await TestServers.CreateDatabaseAsync(), "http://127.0.0.1:1");
        env["AUTHLY_SHUTDOWN_DRAIN_SECONDS"] = DrainSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await using var node = await AuthlyNode.StartAsync(env);
        Assert.That((await _http.GetAsync(node.Url + "/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        node.Terminate();
        // The signal is handled asynchronously: poll until readiness flips (well within the drain).
        HttpResponseMessage? ready = null;
        Assert.That(await Eventually.TrueAsync(async () =>
        {
            ready = await _http.GetAsync(node.Url + "/health/ready");
            return ready.StatusCode == HttpStatusCode.ServiceUnavailable;
        }, TimeSpan.FromSeconds(DrainSeconds - 1)), Is.True, "/health/ready answers 503 soon after SIGTERM");
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(ready!), "status"), Is.EqualTo("shutting down"));

        // Still serving (before, the listener closed at once): a load balancer that has not yet probed again may send more requests.
        var token = await _http.PostAsync(node.Url + "/api/v1/oauth/token", AuthlyApp.Form(
            ("grant_type", "password"), ("username", AuthlyApp.AdminUsername), ("password", AuthlyApp.AdminPassword), ("scope", "account:read")));
        var body = await AuthlyApp.JsonAsync(token);
        Assert.That(token.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(token.Headers.ConnectionClose, Is.True, "keep-alive clients are told to reconnect elsewhere");

        var exitCode = await node.WaitForExitAsync(TimeSpan.FromSeconds(DrainSeconds + 10));
        Assert.That(exitCode, Is.EqualTo(0), node.Output);
    }
}
