using System.Net;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Faults;

/// <summary>
/// Issue 12 finding 7: nodes of one deployment whose clocks disagree. In-process nodes on one
/// database, each with its own clock (<see cref="ShiftedClock"/>): tokens minted ahead are
/// accepted within AUTHLY_CLOCK_LEEWAY_SECONDS, and codes and device polls are judged on the
/// database's clock, so the node a request lands on does not matter.
/// </summary>
[TestFixture, Category("Faults")]
public sealed class ClockSkewTests
{
    private const string DeviceGrant = "urn:ietf:params:oauth:grant-type:device_code";
    private const string Redirect = "https://rp.example/cb";
    private AuthlyApp _normal = null!, _ahead = null!, _farAhead = null!, _farBehind = null!;
    private string _deviceClient = null!, _webClient = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _normal = await AuthlyApp.StartAsync();
        _ahead = _normal.StartPeer(new ShiftedClock(TimeSpan.FromSeconds(30)));
        // Beyond the 60 s leeway: its tokens must still be refused elsewhere.
        _farAhead = _normal.StartPeer(new ShiftedClock(TimeSpan.FromMinutes(2)));
        // Further behind than a code lives (5 min), so a code expiry taken from the node's clock is visible without waiting.
        _farBehind = _normal.StartPeer(new ShiftedClock(TimeSpan.FromMinutes(-10)));
        (_deviceClient, _) = await _normal.CreateClientAsync(new
        {
            client_name = "TV app", client_type = "public", scope = "openid profile", grant_types = new[] { DeviceGrant },
        });
        _webClient = await BrowserFlow.CreatePublicClientAsync(_normal, [Redirect]);
    }

    [OneTimeTearDown]
    public void Stop()
    {
        foreach (var app in new[] { _ahead, _farAhead, _farBehind, _normal }) app?.Dispose();
    }

    private static async Task<bool> ActiveOnAsync(AuthlyApp node, string token) =>
        (await AuthlyApp.JsonAsync(await node.PostFormAsync("/api/v1/oauth/introspect", ("token", token))))["active"]!.GetValue<bool>();

    [Test, Description("RFC 7519 §4.1.5/§4.1.6, Issue12_Finding7: nbf and iat up to the leeway in the future are accepted, at once")]
    public async Task AccessToken_MintedByNodeThirtySecondsAhead_IsActiveAtOnceOnNodeOnTheRealClock()
    {
        var token = AuthlyApp.Str(await _ahead.PasswordTokenAsync(scope: "account:read"), "access_token");
        Assert.That(await ActiveOnAsync(_normal, token), Is.True, "a token of a node 30 s ahead was refused for ~24 s before");
        Assert.That(await ActiveOnAsync(_ahead, token), Is.True);
    }

    [Test, Description("RFC 7519 §4.1.5, Issue12_Finding7: the leeway is bounded; a token whose nbf is two minutes ahead is not yet valid")]
    public async Task AccessToken_MintedByNodeBeyondTheLeeway_IsInactiveOnNodeOnTheRealClock()
    {
        var token = AuthlyApp.Str(await _farAhead.PasswordTokenAsync(scope: "account:read"), "access_token");
        Assert.That(await ActiveOnAsync(_normal, token), Is.False);
    }

    private async Task<JsonObject> StartDeviceAsync()
    {
        var response = await _normal.PostFormAsync("/api/v1/oauth/device_authorization", ("client_id", _deviceClient), ("scope", "openid"));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        return body;
    }

    private static async Task<string> PollErrorAsync(AuthlyApp node, string clientId, string deviceCode)
    {
        var response = await node.PostFormAsync("/api/v1/oauth/token", ("grant_type", DeviceGrant), ("device_code", deviceCode), ("client_id", clientId));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
        return AuthlyApp.Str(body, "error");
    }

    [Test, Description("RFC 8628 §3.5, Issue12_Finding7: a device polling at the interval, its polls landing alternately on nodes 30 s apart, never gets slow_down")]
    public async Task DevicePolls_AtTheIntervalAlternatingBetweenNodesThirtySecondsApart_NeverGetSlowDown()
    {
        var started = await StartDeviceAsync();
        var deviceCode = AuthlyApp.Str(started, "device_code");
        var userCode = AuthlyApp.Str(started, "user_code").Replace("-", "");
        for (var poll = 0; poll < 6; poll++)
        {
            var node = poll % 2 == 0 ? _ahead : _normal;
            Assert.That(await PollErrorAsync(node, _deviceClient, deviceCode), Is.EqualTo("authorization_pending"), $"poll {poll + 1}");
            // The device waits exactly the interval before its next poll: move this poll back by the interval instead of sleeping.
            await _normal.SqlScalarAsync<int>("""
                UPDATE device_codes SET last_polled_at = last_polled_at - make_interval(secs => interval_seconds)
                WHERE user_code = @Code RETURNING interval_seconds
                """, new { Code = userCode });
        }
        Assert.That(await _normal.SqlScalarAsync<int>("SELECT interval_seconds FROM device_codes WHERE user_code = @Code", new { Code = userCode }),
            Is.EqualTo(started["interval"]!.GetValue<int>()), "the interval never grew");

        // A poll that really comes too soon is still slow_down, whichever node sees it.
        Assert.That(await PollErrorAsync(_normal, _deviceClient, deviceCode), Is.EqualTo("authorization_pending"));
        Assert.That(await PollErrorAsync(_ahead, _deviceClient, deviceCode), Is.EqualTo("slow_down"));
    }

    [TestCase("ahead", TestName = "AuthorizationCode_MintedOnNodeThirtySecondsAhead_IsRedeemableOnNodeOnTheRealClock")]
    [TestCase("far behind", TestName = "AuthorizationCode_MintedOnNodeTenMinutesBehind_IsRedeemableOnNodeOnTheRealClock")]
    [Description("RFC 6749 §4.1.2, Issue12_Finding7: a code's five minutes are measured on the database clock, whichever node minted or redeems it")]
    public async Task AuthorizationCode_MintedOnNodeWithSkewedClock_IsRedeemableOnAnotherNode(string minter)
    {
        var node = minter == "ahead" ? _ahead : _farBehind;
        var user = await node.RegisterUserAsync();
        using var minting = new BrowserFlow(node);
        var request = new BrowserFlow.Request(_webClient, Redirect, "openid");
        var code = await minting.CodeAsync(request, user);
        using var redeeming = new BrowserFlow(_normal);
        var tokens = await redeeming.ExchangeAsync(request, code);
        Assert.That(tokens.ContainsKey("access_token"), Is.True);
    }
}
