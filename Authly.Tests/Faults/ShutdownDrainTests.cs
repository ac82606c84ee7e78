using System.Diagnostics;
using System.Net;
using Authly.Tests.Infrastructure;
using static Authly.Tests.Faults.FaultCluster;

namespace Authly.Tests.Faults;

/// <summary>
/// Issue 12 finding 8: on SIGTERM a node turns /health/ready 503 at once (the load balancer stops sending), keeps
/// serving for AUTHLY_SHUTDOWN_DRAIN_SECONDS (requests already routed to it still succeed), then exits cleanly.
/// </summary>
[TestFixture, Category("Faults"), NonParallelizable]
public sealed class ShutdownDrainTests
{
    private const int DrainSeconds = 2;
    private FaultCluster _cluster = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _cluster = await FaultCluster.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _cluster.DisposeAsync();

    [Test, Description("Issue 12 finding 8: SIGTERM → ready 503 at once, requests still served during the drain, exit 0 after it")]
    public async Task Sigterm_TurnsReadinessOffAtOnce_ServesDuringTheDrain_AndExitsCleanly()
    {
        var node = await _cluster.StartProcessAsync(new Dictionary<string, string> { ["AUTHLY_SHUTDOWN_DRAIN_SECONDS"] = DrainSeconds.ToString() });
        using var http = new HttpClient { BaseAddress = new Uri(node.Url), Timeout = TimeSpan.FromSeconds(10) };
        Assert.That((await http.GetAsync("/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "precondition: ready");

        var watch = Stopwatch.StartNew();
        node.Terminate();
        HttpStatusCode? ready = null;
        var notReady = await Eventually.TrueAsync(async () =>
        {
            try { ready = (await http.GetAsync("/health/ready")).StatusCode; }
            catch (HttpRequestException) { ready = null; return false; }
            return ready == HttpStatusCode.ServiceUnavailable;
        }, TimeSpan.FromSeconds(DrainSeconds));
        Record($"SIGTERM to /health/ready 503 (last answer {ready?.ToString() ?? "connection refused"})", watch.Elapsed);
        Assert.That(notReady, Is.True, $"/health/ready did not answer 503 during the drain (last: {ready?.ToString() ?? "connection refused"})");

        // A request the load balancer routed before it noticed: still served.
        var (status, body, _) = await PostAsync(http, "/api/v1/oauth/token", null, ("grant_type", "password"),
            ("username", AuthlyApp.AdminUsername), ("password", AuthlyApp.AdminPassword), ("scope", "account:read"));
        Record($"token request during the drain answered {status}", watch.Elapsed);
        Assert.That(status, Is.EqualTo(200), body.ToJsonString());

        var exit = await node.WaitForExitAsync(TimeSpan.FromSeconds(DrainSeconds + 5));
        Record($"SIGTERM to process exit (code {exit?.ToString() ?? "still running"})", watch.Elapsed);
        Assert.That(exit, Is.EqualTo(0), "the process must exit with 0 within the drain plus a few seconds:\n" + node.Output);
    }
}
