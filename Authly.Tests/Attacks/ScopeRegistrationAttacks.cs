using System.Net;
using System.Net.Http.Json;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 13, one scope decision: a client whose registration an admin narrowed (say, after finding it asked for
/// too much) must not get the removed scope through an authorization it obtained before. The code and device
/// grants filtered by the client only when the code was asked for; now the decision filters at redemption too,
/// as the password and refresh grants always did.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class ScopeRegistrationAttacks
{
    private const string DeviceGrant = "urn:ietf:params:oauth:grant-type:device_code";
    private const string Redirect = "https://rp.example/cb";
    private AuthlyApp _app = null!;

    [OneTimeSetUp] public async Task StartAsync() => _app = await AuthlyApp.StartAsync();
    [OneTimeTearDown] public void Stop() => _app.Dispose();

    private async Task NarrowClientAsync(string clientId, string scope)
    {
        var response = await _app.BearerClient(await _app.AdminTokenAsync("admin:clients:write"))
            .PutAsJsonAsync($"/admin/clients/{clientId}", new { scope });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    [Test, Description("RFC 6749 §3.3 / §4.1.3: the code grant yields only scopes the client is still registered for")]
    public async Task CodeRedeemed_AfterScopeRemovedFromClient_TokenLacksTheScope()
    {
        var clientId = await BrowserFlow.CreatePublicClientAsync(_app, [Redirect], scope: "openid profile email");
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(clientId, Redirect, "openid profile email");
        var code = await browser.CodeAsync(request, await _app.RegisterUserAsync());

        await NarrowClientAsync(clientId, "openid profile");
        var tokens = await browser.ExchangeAsync(request, code);

        Assert.That(AuthlyApp.Str(tokens, "scope").Split(' '), Is.EquivalentTo(new[] { "openid", "profile" }));
    }

    [Test, Description("RFC 6749 §3.3 / RFC 8628 §3.5: the device grant yields only scopes the client is still registered for")]
    public async Task DeviceCodeRedeemed_AfterScopeRemovedFromClient_TokenLacksTheScope()
    {
        var (clientId, _) = await _app.CreateClientAsync(new
        {
            client_name = "TV app", client_type = "public", scope = "openid profile email", grant_types = new[] { DeviceGrant },
        });
        var started = await AuthlyApp.JsonAsync(await _app.PostFormAsync("/api/v1/oauth/device_authorization",
            ("client_id", clientId), ("scope", "openid profile email")));
        var userCode = AuthlyApp.Str(started, "user_code");
        using var browser = new BrowserFlow(_app);
        await browser.SignInDirectlyAsync(await _app.RegisterUserAsync());
        var page = await BrowserFlow.HtmlAsync(await browser.GetAsync("/device?user_code=" + Uri.EscapeDataString(userCode)));
        var fields = BrowserFlow.HiddenFields(page);
        fields["approved"] = "true";
        var approved = await browser.PostFormAsync("/device/confirm", fields);
        Assert.That(approved.StatusCode, Is.EqualTo(HttpStatusCode.OK), await approved.Content.ReadAsStringAsync());

        await NarrowClientAsync(clientId, "openid profile");
        await browser.ExecuteSqlAsync("UPDATE device_codes SET last_polled_at = now() - interval '1 hour' WHERE user_code = @Code",
            new { Code = userCode.Replace("-", "") });
        var response = await _app.PostFormAsync("/api/v1/oauth/token",
            ("grant_type", DeviceGrant), ("device_code", AuthlyApp.Str(started, "device_code")), ("client_id", clientId));
        var body = await AuthlyApp.JsonAsync(response);

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(AuthlyApp.Str(body, "scope").Split(' '), Is.EquivalentTo(new[] { "openid", "profile" }));
        });
    }
}
