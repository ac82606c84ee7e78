using System.Net;
using System.Net.Http.Json;
using Authly.Security;
using Authly.Tests.Infrastructure;
using Authly.Tests.OidcBackchannel;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 18, back-channel logout: the server itself POSTs to a client-registered URL, so the URL must not reach the
/// server's own network (SSRF), and nobody may make the server send a logout for a session that is not theirs.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class BackchannelLogoutAttacks
{
    private AuthlyApp _production = null!;
    private AuthlyApp _testing = null!;
    private LogoutReceiver _receiver = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _production = await AuthlyApp.StartAsync(new Dictionary<string, string?>
        {
            ["AUTHLY_MODE"] = "production", ["JWT_SECRET_KEY"] = OpaqueToken.New(32), ["JWT_REFRESH_SECRET_KEY"] = OpaqueToken.New(32),
        });
        _testing = await AuthlyApp.StartAsync();
        _receiver = new LogoutReceiver();
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _production?.Dispose();
        _testing?.Dispose();
        _receiver?.Dispose();
    }

    [TestCase("http://rp.example/logout", TestName = "BackchannelUri_PlainHttp_InProduction_IsRefused")]
    [TestCase("https://127.0.0.1/logout", TestName = "BackchannelUri_Loopback_InProduction_IsRefused")]
    [TestCase("https://[::1]/logout", TestName = "BackchannelUri_Ipv6Loopback_InProduction_IsRefused")]
    [TestCase("https://localhost/logout", TestName = "BackchannelUri_Localhost_InProduction_IsRefused")]
    [TestCase("https://10.1.2.3/logout", TestName = "BackchannelUri_PrivateNetwork_InProduction_IsRefused")]
    [TestCase("https://192.168.0.10/logout", TestName = "BackchannelUri_Rfc1918_InProduction_IsRefused")]
    [TestCase("https://169.254.169.254/latest/meta-data", TestName = "BackchannelUri_CloudMetadata_InProduction_IsRefused")]
    [TestCase("https://[::ffff:127.0.0.1]/logout", TestName = "BackchannelUri_MappedLoopback_InProduction_IsRefused")]
    [TestCase("https://postgres:5432/", TestName = "BackchannelUri_SingleLabelHost_InProduction_IsRefused")]
    [TestCase("https://redis.internal/", TestName = "BackchannelUri_InternalDomain_InProduction_IsRefused")]
    [Description("SSRF: a backchannel_logout_uri aimed at the server's own network is refused at registration and at update")]
    public async Task BackchannelUri_InternalOrPlainHttp_InProduction_IsRefusedAtRegistrationAndUpdate(string uri)
    {
        var admin = _production.BearerClient(await _production.AdminTokenAsync("admin:clients:write admin:clients:read"));
        var created = await admin.PostAsJsonAsync("/admin/clients", new
        {
            client_name = "ssrf", client_type = "public", redirect_uris = new[] { "https://rp.example/cb" }, backchannel_logout_uri = uri,
        });
        var body = await AuthlyApp.JsonAsync(created);
        Assert.Multiple(() =>
        {
            Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
            Assert.That(body["field"]?.GetValue<string>(), Is.EqualTo("backchannel_logout_uri"));
        });

        var (clientId, _) = await _production.CreateClientAsync(new
        {
            client_name = "honest", client_type = "public", redirect_uris = new[] { "https://rp.example/cb" }, backchannel_logout_uri = "https://rp.example/logout",
        });
        var updated = await admin.PutAsJsonAsync($"/admin/clients/{clientId}", new { backchannel_logout_uri = uri });
        var after = await AuthlyApp.JsonAsync(await admin.GetAsync($"/admin/clients/{clientId}"));
        Assert.Multiple(() =>
        {
            Assert.That(updated.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(after["backchannel_logout_uri"]?.GetValue<string>(), Is.EqualTo("https://rp.example/logout"), "the update changed nothing");
        });
    }

    [Test, Description("A user cannot end (and so trigger the back-channel logout of) another user's session: not by the vault API, not by naming it under their own user id")]
    public async Task EndingAnotherUsersSession_IsRefused_AndQueuesNoLogout()
    {
        var (clientId, _) = await _testing.CreateClientAsync(new
        {
            client_name = "bc", client_type = "public", redirect_uris = new[] { "https://rp.example/cb" }, scope = "openid",
            grant_types = new[] { "authorization_code" }, backchannel_logout_uri = _receiver.Url,
        });
        var victim = await _testing.RegisterUserAsync();
        using var browser = new BrowserFlow(_testing);
        var tokens = await browser.TokensAsync(new BrowserFlow.Request(clientId, "https://rp.example/cb", "openid"), victim);
        var victimSid = new JsonWebToken(AuthlyApp.Str(tokens, "id_token")).GetPayloadValue<string>("sid");

        var attacker = await _testing.RegisterUserAsync();
        var attackerToken = AuthlyApp.Str(await _testing.PasswordTokenAsync(attacker.Username, attacker.Password, "vault:write account:write"), "access_token");
        var viaVault = await _testing.BearerClient(attackerToken).DeleteAsync($"/api/v1/vault/sessions/{victimSid}");
        var usersAdmin = _testing.BearerClient(await _testing.AdminTokenAsync("admin:users:write"));
        var viaWrongUser = await usersAdmin.DeleteAsync($"/admin/users/{attacker.Id}/sessions/{victimSid}");

        Assert.Multiple(async () =>
        {
            Assert.That(viaVault.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(viaWrongUser.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True, "the victim is still signed in");
            Assert.That(await _testing.SqlScalarAsync<long>("SELECT count(*) FROM backchannel_logouts WHERE sid = @Sid", new { Sid = victimSid }), Is.Zero,
                "no logout queued for the victim's session");
        });
    }
}
