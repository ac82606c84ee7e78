using System.Net;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc8628;

/// <summary>RFC 8628: device authorization, the /device verification pages, and polling.</summary>
[TestFixture, Category("RFC8628")]
public sealed class DeviceGrantTests : AppFixture
{
    private const string DeviceGrant = "urn:ietf:params:oauth:grant-type:device_code";
    private string _clientId = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var (id, _) = await _app.CreateClientAsync(new
        {
            client_name = "TV app", client_type = "public", scope = "openid profile offline_access",
            grant_types = new[] { DeviceGrant, "refresh_token" },
        });
        _clientId = id;
    }

    private async Task<JsonObject> StartDeviceAsync(string scope = "openid profile")
    {
        var response = await _app.PostFormAsync("/api/v1/oauth/device_authorization", ("client_id", _clientId), ("scope", scope));
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        return JsonNode.Parse(text)!.AsObject();
    }

    private Task<HttpResponseMessage> PollAsync(string deviceCode, string? clientId = null) =>
        _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", DeviceGrant), ("device_code", deviceCode), ("client_id", clientId ?? _clientId));

    /// <summary>Lets the next poll come "after the interval", by moving the last poll back in the database.</summary>
    private async Task IntervalPassedAsync(BrowserFlow browser, string userCode) =>
        await browser.ExecuteSqlAsync("UPDATE device_codes SET last_polled_at = now() - interval '1 hour' WHERE user_code = @Code",
            new { Code = userCode.Replace("-", "") });

    private static async Task AssertPollErrorAsync(HttpResponseMessage response, string error)
    {
        var text = await response.Content.ReadAsStringAsync();
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), text);
            Assert.That(AuthlyApp.Str(body, "error"), Is.EqualTo(error));
            Assert.That(body.ContainsKey("access_token"), Is.False);
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
        });
    }

    /// <summary>A signed-in browser opens /device?user_code=…, and presses Allow or Deny.</summary>
    private async Task<HttpResponseMessage> DecideAsync(BrowserFlow browser, string typedCode, bool approve, Action<Dictionary<string, string>>? change = null)
    {
        var page = await BrowserFlow.HtmlAsync(await browser.GetAsync("/device?user_code=" + Uri.EscapeDataString(typedCode)));
        Assert.That(page, Does.Contain("action=\"/device/confirm\""), page);
        var fields = BrowserFlow.HiddenFields(page);
        fields["approved"] = approve ? "true" : "false";
        change?.Invoke(fields);
        return await browser.PostFormAsync("/device/confirm", fields);
    }

    private async Task<BrowserFlow> SignedInBrowserAsync()
    {
        var browser = new BrowserFlow(_app);
        await browser.SignInDirectlyAsync(await _app.RegisterUserAsync());
        return browser;
    }

    [Test, Description("RFC 8628 §3.2: the device authorization response")]
    public async Task DeviceAuthorization_ReturnsCodesUrisLifetimeAndInterval()
    {
        var response = await _app.PostFormAsync("/api/v1/oauth/device_authorization", ("client_id", _clientId), ("scope", "openid"));
        var body = await AuthlyApp.JsonAsync(response);
        var userCode = AuthlyApp.Str(body, "user_code");
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
            Assert.That(AuthlyApp.Str(body, "device_code"), Has.Length.GreaterThanOrEqualTo(32));
            Assert.That(userCode, Does.Match("^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$"));
            Assert.That(AuthlyApp.Str(body, "verification_uri"), Is.EqualTo(AuthlyApp.Issuer + "/device"));
            Assert.That(AuthlyApp.Str(body, "verification_uri_complete"), Is.EqualTo(AuthlyApp.Issuer + "/device?user_code=" + userCode));
            Assert.That(body["expires_in"]!.GetValue<int>(), Is.InRange(60, 1800));
            Assert.That(body["interval"]!.GetValue<int>(), Is.EqualTo(5));
        });
    }

    [Test, Description("RFC 8628 §3.1: an unknown client is invalid_client")]
    public async Task DeviceAuthorization_WithUnknownClient_ReturnsInvalidClient()
    {
        var response = await _app.PostFormAsync("/api/v1/oauth/device_authorization", ("client_id", "nobody"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(response), "error"), Is.EqualTo("invalid_client"));
    }

    [Test, Description("RFC 8628 §3.1: client_id is required")]
    public async Task DeviceAuthorization_WithoutClient_ReturnsInvalidClient()
    {
        var response = await _app.PostFormAsync("/api/v1/oauth/device_authorization", ("scope", "openid"));
        Assert.That((int)response.StatusCode, Is.EqualTo(400).Or.EqualTo(401));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(response), "error"), Is.AnyOf("invalid_client", "invalid_request"));
    }

    [Test, Description("RFC 8628 §3.1; RFC 6749 §5.2: a client not registered for the device grant")]
    public async Task DeviceAuthorization_ForClientWithoutDeviceGrant_ReturnsUnauthorizedClient()
    {
        var other = await BrowserFlow.CreatePublicClientAsync(_app, ["https://rp.example/cb"]);
        var response = await _app.PostFormAsync("/api/v1/oauth/device_authorization", ("client_id", other));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(response), "error"), Is.EqualTo("unauthorized_client"));
    }

    [Test, Description("RFC 8628 §3.1: a scope the client may not request")]
    public async Task DeviceAuthorization_WithScopeNotAllowed_ReturnsInvalidScope()
    {
        var response = await _app.PostFormAsync("/api/v1/oauth/device_authorization", ("client_id", _clientId), ("scope", "openid email"));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(response), "error"), Is.EqualTo("invalid_scope"));
    }

    [Test, Description("RFC 8628 §3.5: authorization_pending until the user decides")]
    public async Task Poll_BeforeUserDecides_ReturnsAuthorizationPending()
    {
        var started = await StartDeviceAsync();
        await AssertPollErrorAsync(await PollAsync(AuthlyApp.Str(started, "device_code")), "authorization_pending");
    }

    [Test, Description("RFC 8628 §3.5: slow_down when polling faster than the interval; the interval grows by 5 seconds")]
    public async Task Poll_FasterThanInterval_ReturnsSlowDown()
    {
        var started = await StartDeviceAsync();
        var deviceCode = AuthlyApp.Str(started, "device_code");
        await AssertPollErrorAsync(await PollAsync(deviceCode), "authorization_pending");
        await AssertPollErrorAsync(await PollAsync(deviceCode), "slow_down");
        using var browser = new BrowserFlow(_app);
        var interval = await browser.ScalarAsync<int>("SELECT interval_seconds FROM device_codes WHERE user_code = @Code",
            new { Code = AuthlyApp.Str(started, "user_code").Replace("-", "") });
        Assert.That(interval, Is.EqualTo(10));
    }

    [TestCase(false, TestName = "Poll_AfterApprovalWithCodeAsShown_ReturnsTokensOnce")]
    [TestCase(true, TestName = "Poll_AfterApprovalWithCodeTypedLowercaseWithoutDash_ReturnsTokensOnce")]
    [Description("RFC 8628 §3.3, §3.5, §6.1: approval; user codes compared without case or dashes; a device code is used once")]
    public async Task Poll_AfterApproval_ReturnsTokensOnce(bool typedSloppily)
    {
        var started = await StartDeviceAsync("openid profile offline_access");
        var userCode = AuthlyApp.Str(started, "user_code");
        var deviceCode = AuthlyApp.Str(started, "device_code");
        using var browser = await SignedInBrowserAsync();
        var typed = typedSloppily ? userCode.Replace("-", "").ToLowerInvariant() : userCode;
        var decided = await DecideAsync(browser, typed, approve: true);
        Assert.That(decided.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await decided.Content.ReadAsStringAsync(), Does.Contain("Device connected"));

        await IntervalPassedAsync(browser, userCode);
        var response = await PollAsync(deviceCode);
        var body = await AuthlyApp.JsonAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(AuthlyApp.Str(body, "token_type"), Is.EqualTo("Bearer"));
            Assert.That(AuthlyApp.Str(body, "scope").Split(' '), Is.EquivalentTo(new[] { "openid", "profile", "offline_access" }));
            Assert.That(body.ContainsKey("refresh_token"), Is.True);
            Assert.That(body.ContainsKey("id_token"), Is.True);
        });

        await IntervalPassedAsync(browser, userCode);
        await AssertPollErrorAsync(await PollAsync(deviceCode), "invalid_grant");
    }

    [Test, Description("RFC 8628 §6.1: the user code may be typed with spaces")]
    public async Task DevicePage_WithCodeTypedWithSpaces_ShowsConfirmation()
    {
        var started = await StartDeviceAsync();
        using var browser = await SignedInBrowserAsync();
        var code = AuthlyApp.Str(started, "user_code").Replace("-", " ").ToLowerInvariant();
        var enter = await BrowserFlow.HtmlAsync(await browser.GetAsync("/device"));
        var fields = BrowserFlow.HiddenFields(enter);
        fields["user_code"] = code;
        var page = await BrowserFlow.HtmlAsync(await browser.PostFormAsync("/device", fields));
        Assert.That(page, Does.Contain("action=\"/device/confirm\""));
        Assert.That(page, Does.Contain(AuthlyApp.Str(started, "user_code")));
        Assert.That(page, Does.Contain("TV app"));
    }

    [Test, Description("RFC 8628 §3.5: access_denied after the user denies")]
    public async Task Poll_AfterDenial_ReturnsAccessDenied()
    {
        var started = await StartDeviceAsync();
        using var browser = await SignedInBrowserAsync();
        var decided = await DecideAsync(browser, AuthlyApp.Str(started, "user_code"), approve: false);
        Assert.That(await decided.Content.ReadAsStringAsync(), Does.Contain("denied"));
        await IntervalPassedAsync(browser, AuthlyApp.Str(started, "user_code"));
        await AssertPollErrorAsync(await PollAsync(AuthlyApp.Str(started, "device_code")), "access_denied");
    }

    [Test, Description("RFC 8628 §3.5: expired_token once the device code expired")]
    public async Task Poll_AfterExpiry_ReturnsExpiredToken()
    {
        var started = await StartDeviceAsync();
        using var browser = new BrowserFlow(_app);
        await browser.ExecuteSqlAsync("UPDATE device_codes SET expires_at = now() - interval '1 second' WHERE user_code = @Code",
            new { Code = AuthlyApp.Str(started, "user_code").Replace("-", "") });
        await AssertPollErrorAsync(await PollAsync(AuthlyApp.Str(started, "device_code")), "expired_token");
    }

    [Test, Description("RFC 8628 §3.3: an expired user code cannot be approved")]
    public async Task DevicePage_WithExpiredCode_RefusesAndCannotApprove()
    {
        var started = await StartDeviceAsync();
        var userCode = AuthlyApp.Str(started, "user_code");
        using var browser = await SignedInBrowserAsync();
        var page = await BrowserFlow.HtmlAsync(await browser.GetAsync("/device?user_code=" + userCode));
        await browser.ExecuteSqlAsync("UPDATE device_codes SET expires_at = now() - interval '1 second' WHERE user_code = @Code", new { Code = userCode.Replace("-", "") });
        var fields = BrowserFlow.HiddenFields(page);
        fields["approved"] = "true";
        var response = await browser.PostFormAsync("/device/confirm", fields);
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain("Device connected"));
        Assert.That(await browser.ScalarAsync<string>("SELECT status FROM device_codes WHERE user_code = @Code", new { Code = userCode.Replace("-", "") }),
            Is.EqualTo("pending"));
    }

    [Test, Description("RFC 8628 §3.4: a device code polled by another client is invalid_grant")]
    public async Task Poll_ByAnotherClient_ReturnsInvalidGrant()
    {
        var (other, _) = await _app.CreateClientAsync(new
        {
            client_name = "other TV", client_type = "public", scope = "openid", grant_types = new[] { DeviceGrant },
        });
        var started = await StartDeviceAsync();
        await AssertPollErrorAsync(await PollAsync(AuthlyApp.Str(started, "device_code"), other), "invalid_grant");
    }

    [Test, Description("RFC 8628 §3.4: an unknown device code is invalid_grant")]
    public async Task Poll_WithUnknownDeviceCode_ReturnsInvalidGrant() =>
        await AssertPollErrorAsync(await PollAsync("not-a-device-code"), "invalid_grant");

    [Test, Description("RFC 8628 §3.4: device_code is required")]
    public async Task Poll_WithoutDeviceCode_ReturnsInvalidRequest()
    {
        var response = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", DeviceGrant), ("client_id", _clientId));
        await AssertPollErrorAsync(response, "invalid_request");
    }

    [Test, Description("RFC 8628 §3.3: the verification page asks an anonymous user to sign in first, keeping the code")]
    public async Task DevicePage_WithoutSession_ShowsLoginReturningToTheCode()
    {
        var started = await StartDeviceAsync();
        using var browser = new BrowserFlow(_app);
        var userCode = AuthlyApp.Str(started, "user_code");
        var html = await BrowserFlow.HtmlAsync(await browser.GetAsync("/device?user_code=" + userCode));
        Assert.That(BrowserFlow.IsLoginPage(html), Is.True);
        Assert.That(BrowserFlow.HiddenFields(html)["return_to"], Is.EqualTo("/device?user_code=" + userCode));
    }

    [Test, Description("RFC 8628 §5.1: a wrong user code is refused without revealing anything")]
    public async Task DevicePage_WithWrongCode_ShowsErrorAndNoConfirmation()
    {
        using var browser = await SignedInBrowserAsync();
        var response = await browser.GetAsync("/device?user_code=BBBB-BBBB");
        var html = await BrowserFlow.HtmlAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(html, Does.Not.Contain("action=\"/device/confirm\""));
        Assert.That(html, Does.Contain("not valid"));
    }

    [Test, Description("RFC 8628 §5.1: a decided code cannot be decided again")]
    public async Task Confirm_ForAlreadyApprovedCode_DoesNotChangeIt()
    {
        var started = await StartDeviceAsync();
        var userCode = AuthlyApp.Str(started, "user_code");
        using var browser = await SignedInBrowserAsync();
        var page = await BrowserFlow.HtmlAsync(await browser.GetAsync("/device?user_code=" + userCode));
        var fields = BrowserFlow.HiddenFields(page);
        fields["approved"] = "true";
        Assert.That(await (await browser.PostFormAsync("/device/confirm", fields)).Content.ReadAsStringAsync(), Does.Contain("Device connected"));
        fields["approved"] = "false";
        var again = await browser.PostFormAsync("/device/confirm", fields);
        Assert.That(await again.Content.ReadAsStringAsync(), Does.Not.Contain("denied"));
        Assert.That(await browser.ScalarAsync<string>("SELECT status FROM device_codes WHERE user_code = @Code", new { Code = userCode.Replace("-", "") }),
            Is.EqualTo("approved"));
    }

    [Test, Description("RFC 8628 §3.2: discovery advertises the device authorization endpoint and grant")]
    public async Task Discovery_AdvertisesDeviceAuthorization()
    {
        var doc = await AuthlyApp.JsonAsync(await _app.CreateClient().GetAsync("/.well-known/openid-configuration"));
        Assert.That(AuthlyApp.Str(doc, "device_authorization_endpoint"), Is.EqualTo(AuthlyApp.Issuer + "/api/v1/oauth/device_authorization"));
        Assert.That(doc["grant_types_supported"]!.AsArray().Select(n => n!.GetValue<string>()), Does.Contain(DeviceGrant));
    }
}
