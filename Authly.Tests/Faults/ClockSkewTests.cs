using System.Diagnostics;
using Authly.Tests.Infrastructure;
using static Authly.Tests.Faults.FaultCluster;

namespace Authly.Tests.Faults;

/// <summary>
/// Issue 12 finding 7: node B's clock runs 30 s ahead of node A's (a <see cref="ShiftedClock"/>), within the
/// default AUTHLY_CLOCK_LEEWAY_SECONDS of 60. Nodes that disagree by less than a minute must behave as one.
/// </summary>
[TestFixture, Category("Faults"), NonParallelizable]
public sealed class ClockSkewTests
{
    private const string Redirect = "https://rp.example/cb";
    private const string DeviceGrant = "urn:ietf:params:oauth:grant-type:device_code";
    private FaultCluster _cluster = null!;
    private AuthlyApp _a = null!;
    private AuthlyApp _b = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _cluster = await FaultCluster.StartAsync();
        _a = await _cluster.StartAppAsync();
        _b = await _cluster.StartAppAsync(new ShiftedClock(TimeSpan.FromSeconds(30)));
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _cluster.DisposeAsync();

    [Test, Description("Issue 12 finding 7, RFC 7519 §4.1.5 nbf / §4.1.6 iat with leeway: a token minted on a node 30 s ahead is active everywhere at once")]
    public async Task AccessToken_MintedOnANode30SecondsAhead_IsActiveOnTheOtherNodeAtOnce()
    {
        var user = await _a.CreateUserAsync();
        var tokens = await SignInAsync(_b.CreateClient(), user.Username, user.Password);
        Assert.That(await ActiveAsync(_a.CreateClient(), AuthlyApp.Str(tokens, "access_token")), Is.True,
            "node A rejects a fresh token of node B (nbf/iat in A's future)");
    }

    [Test, Description("Issue 12 finding 7, RFC 6749 §4.1.3: an authorization code issued on the node ahead is redeemed on the other")]
    public async Task AuthorizationCode_IssuedOnANode30SecondsAhead_IsRedeemedOnTheOtherNode()
    {
        var client = await BrowserFlow.CreatePublicClientAsync(_b, [Redirect]);
        var user = await _b.RegisterUserAsync();
        using var browser = new BrowserFlow(_b);
        var request = new BrowserFlow.Request(client, Redirect);
        var code = await browser.CodeAsync(request, user);

        var (status, body, _) = await PostAsync(_a.CreateClient(), "/api/v1/oauth/token", null, ("grant_type", "authorization_code"),
            ("code", code), ("redirect_uri", Redirect), ("client_id", client), ("code_verifier", request.Verifier));
        Assert.That(status, Is.EqualTo(200), body.ToJsonString());
        Assert.That(await ActiveAsync(_b.CreateClient(), AuthlyApp.Str(body, "access_token")), Is.True, "A's token on B");
    }

    [Test, Description("Issue 12 finding 7, RFC 8628 §3.5: polls at the advertised interval, alternating between the nodes, never get slow_down")]
    public async Task DevicePolls_AtTheAdvertisedInterval_AlternatingBetweenNodes_NeverGetSlowDown()
    {
        var (client, _) = await _a.CreateClientAsync(new { client_name = "TV", client_type = "public", scope = "openid", grant_types = new[] { DeviceGrant } });
        var (startStatus, started, _) = await PostAsync(_a.CreateClient(), "/api/v1/oauth/device_authorization", null, ("client_id", client), ("scope", "openid"));
        Assert.That(startStatus, Is.EqualTo(200), started.ToJsonString());
        var interval = TimeSpan.FromSeconds(started["interval"]?.GetValue<int>() ?? 5);
        var deviceCode = AuthlyApp.Str(started, "device_code");

        // B (ahead) first: a poll time recorded on B's clock is 30 s in A's future, so A's next poll is the one that
        // mixes clocks (the other order, A then B, looks slower to B and passes even without one clock).
        var nodes = new[] { ("B", _b.CreateClient()), ("A", _a.CreateClient()) };
        var sincePoll = Stopwatch.StartNew();
        for (var i = 0; i < nodes.Length; i++)
        {
            // The client waits the advertised interval (plus a little, as RFC 8628 §3.5 clients do) by the real clock.
            if (i > 0) await Eventually.TrueAsync(() => Task.FromResult(sincePoll.Elapsed >= interval + TimeSpan.FromMilliseconds(250)), interval * 2);
            var (name, http) = nodes[i];
            sincePoll.Restart();
            var (status, body, _) = await PostAsync(http, "/api/v1/oauth/token", null, ("grant_type", DeviceGrant), ("device_code", deviceCode), ("client_id", client));
            Assert.That(status, Is.EqualTo(400), $"poll {i + 1} on {name}: {body.ToJsonString()}");
            Assert.That(body["error"]?.GetValue<string>(), Is.EqualTo("authorization_pending"), $"poll {i + 1} on {name}: {body.ToJsonString()}");
        }
    }
}
