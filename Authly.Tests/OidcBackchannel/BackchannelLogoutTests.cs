using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Authly.Sessions;
using Authly.Tests.Infrastructure;
using Authly.Tokens;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Tests.OidcBackchannel;

/// <summary>
/// OpenID Connect Back-Channel Logout 1.0 (issue 18): when a session ends, every client that got tokens for it and
/// registered a backchannel_logout_uri receives one signed logout token, from a queue in PostgreSQL, retried until delivered.
/// </summary>
[TestFixture, Category("OIDC-Backchannel")]
public sealed class BackchannelLogoutTests : AppFixture
{
    private const string Redirect = "https://rp.example/cb";
    private LogoutReceiver _receiver = null!;
    private string _clientId = null!;

    [OneTimeSetUp]
    public async Task RegisterAsync()
    {
        _receiver = new LogoutReceiver();
        _clientId = await RegisterClientAsync(_app, _receiver.Url);
    }

    [OneTimeTearDown]
    public void StopReceiver() => _receiver?.Dispose();

    [SetUp]
    public void ReceiverUp()
    {
        _receiver.Status = 200;
        _receiver.Posts.Clear();
    }

    private static async Task<string> RegisterClientAsync(AuthlyApp app, string logoutUri)
    {
        var (id, _) = await app.CreateClientAsync(new
        {
            client_name = "Back-channel RP", client_type = "public", redirect_uris = new[] { Redirect }, scope = "openid profile",
            grant_types = new[] { "authorization_code", "refresh_token" }, backchannel_logout_uri = logoutUri, backchannel_logout_session_required = true,
        });
        return id;
    }

    private async Task<(BrowserFlow Browser, TestUsers.TestUser User, string IdToken, string Sid)> SignedInAsync(AuthlyApp? app = null, string? clientId = null)
    {
        app ??= _app;
        var user = await app.RegisterUserAsync();
        var browser = new BrowserFlow(app);
        var tokens = await browser.TokensAsync(new BrowserFlow.Request(clientId ?? _clientId, Redirect, "openid profile"), user);
        var idToken = AuthlyApp.Str(tokens, "id_token");
        return (browser, user, idToken, new JsonWebToken(idToken).GetPayloadValue<string>("sid"));
    }

    private async Task<LogoutReceiver.Received> ReceivedAsync(string sid, TimeSpan? within = null)
    {
        LogoutReceiver.Received? found = null;
        await Eventually.TrueAsync(() => Task.FromResult((found = _receiver.Posts.FirstOrDefault(p => SidOf(p.LogoutToken) == sid)) is not null),
            within ?? TimeSpan.FromSeconds(15));
        return found ?? throw new AssertionException($"no back-channel logout for session {sid} arrived");
    }

    private static string? SidOf(string token) => new JsonWebToken(token).TryGetPayloadValue<string>("sid", out var s) ? s : null;

    private Task<string> JwksAsync() => _app.CreateClient().GetStringAsync("/.well-known/jwks.json");

    private async Task<(int Attempts, bool Delivered, string? LastError)> QueueRowAsync(string sid, AuthlyApp? app = null)
    {
        var row = await (app ?? _app).SqlScalarAsync<string?>(
            "SELECT attempts || '|' || (delivered_at IS NOT NULL)::text || '|' || coalesce(last_error, '') FROM backchannel_logouts WHERE sid = @Sid",
            new { Sid = sid });
        if (row is null) return (0, false, null);
        var parts = row.Split('|', 3);
        return (int.Parse(parts[0]), parts[1] == "true", parts[2].Length == 0 ? null : parts[2]);
    }

    private static string Logout(string idToken) =>
        QueryHelpers.AddQueryString("/oidc/logout", new Dictionary<string, string?> { ["id_token_hint"] = idToken });

    [Test, Description("Back-Channel Logout §2.4, §2.5, §2.6: RP-initiated logout POSTs one logout token that the published JWKS verifies")]
    public async Task Logout_OfASessionTheClientTookPartIn_PostsOneLogoutTokenThatAReceiverAccepts()
    {
        var (browser, user, idToken, sid) = await SignedInAsync();
        using var _b = browser;
        Assert.That((int)(await browser.GetAsync(Logout(idToken))).StatusCode, Is.EqualTo(200).Or.EqualTo(302));

        var received = await ReceivedAsync(sid);
        var jwt = new JsonWebToken(received.LogoutToken);
        var events = JsonNode.Parse(jwt.GetPayloadValue<object>("events").ToString()!)!.AsObject();
        Assert.Multiple(async () =>
        {
            Assert.That(received.ContentType, Does.StartWith("application/x-www-form-urlencoded"));
            Assert.That(await LogoutReceiver.Validate(received.LogoutToken, await JwksAsync(), AuthlyApp.Issuer, _clientId, DateTimeOffset.UtcNow), Is.Null);
            Assert.That(jwt.Typ, Is.EqualTo("logout+jwt"));
            Assert.That(jwt.GetPayloadValue<string>("sub"), Is.EqualTo(user.Id.ToString()));
            Assert.That(jwt.TryGetPayloadValue<object>("nonce", out _), Is.False, "§2.4: a logout token never has a nonce");
            Assert.That(events.Select(e => e.Key), Is.EqualTo(new[] { BackchannelLogout.EventType }));
            Assert.That(events[BackchannelLogout.EventType]!.AsObject(), Is.Empty);
        });

        // Delivered once: the row is done after one attempt, and ending the user's (already ended) sessions again queues nothing.
        await _app.BearerClient(await _app.AdminTokenAsync("admin:users:write")).DeleteAsync($"/admin/users/{user.Id}/sessions");
        var row = await QueueRowAsync(sid);
        Assert.Multiple(() =>
        {
            Assert.That(row.Attempts, Is.EqualTo(1));
            Assert.That(row.Delivered, Is.True);
            Assert.That(_receiver.Posts.Count(p => SidOf(p.LogoutToken) == sid), Is.EqualTo(1));
        });
    }

    [TestCase("admin_revoke"), TestCase("deactivation"), TestCase("password_change")]
    [Description("Issue 18: every way a session ends sends the logout: admin revoke, deactivation, password change")]
    public async Task SessionEnded_ByAnyPath_SendsTheLogout(string how)
    {
        var (browser, user, _, sid) = await SignedInAsync();
        using var _b = browser;
        var admin = _app.BearerClient(await _app.AdminTokenAsync("admin:users:write admin:users:read"));
        var response = how switch
        {
            "admin_revoke" => await admin.DeleteAsync($"/admin/users/{user.Id}/sessions/{sid}"),
            "deactivation" => await admin.PutAsJsonAsync($"/admin/users/{user.Id}", new { is_active = false }),
            _ => await _app.BearerClient(AuthlyApp.Str(await _app.PasswordTokenAsync(user.Username, user.Password, "account:write"), "access_token"))
                .PostAsJsonAsync("/api/v1/auth/change-password", new { current_password = user.Password, new_password = "Another-Password-456" }),
        };
        Assert.That((int)response.StatusCode, Is.InRange(200, 299), await response.Content.ReadAsStringAsync());
        var received = await ReceivedAsync(sid);
        Assert.That(await LogoutReceiver.Validate(received.LogoutToken, await JwksAsync(), AuthlyApp.Issuer, _clientId, DateTimeOffset.UtcNow), Is.Null);
    }

    [Test, Description("Back-Channel Logout §2.6: a receiver refuses a logout token meant for another client (aud), a stale one, and one with a nonce")]
    public async Task LogoutToken_WrongAudienceStaleOrWithNonce_IsRefusedByTheReceiver()
    {
        var (browser, _, idToken, sid) = await SignedInAsync();
        using var _b = browser;
        await browser.GetAsync(Logout(idToken));
        var token = (await ReceivedAsync(sid)).LogoutToken;
        var jwks = await JwksAsync();

        // A nonce would let an ID token pass as a logout token or the reverse: forged with the server's own key, so only the nonce is wrong.
        var ring = await _app.Services.GetRequiredService<SigningKeyStore>().RingAsync(CancellationToken.None);
        var now = DateTime.UtcNow;
        var withNonce = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = AuthlyApp.Issuer, Audience = _clientId, IssuedAt = now, Expires = now.AddMinutes(2), TokenType = "logout+jwt",
            Claims = new Dictionary<string, object>
            {
                ["sid"] = sid, ["jti"] = Guid.NewGuid().ToString("N"), ["nonce"] = "n-1",
                ["events"] = new Dictionary<string, object> { [BackchannelLogout.EventType] = new Dictionary<string, object>() },
            },
            SigningCredentials = new SigningCredentials(ring.Active.Key, ring.Active.Algorithm),
        });
        Assert.Multiple(async () =>
        {
            Assert.That(await LogoutReceiver.Validate(token, jwks, AuthlyApp.Issuer, _clientId, DateTimeOffset.UtcNow), Is.Null, "the genuine token passes");
            Assert.That(await LogoutReceiver.Validate(token, jwks, AuthlyApp.Issuer, "another-client", DateTimeOffset.UtcNow), Is.Not.Null, "wrong aud");
            Assert.That(await LogoutReceiver.Validate(token, jwks, AuthlyApp.Issuer, _clientId, DateTimeOffset.UtcNow + BackchannelLogout.TokenLifetime),
                Is.EqualTo("expired"), "stale: a logout token lives two minutes");
            Assert.That(await LogoutReceiver.Validate(withNonce, jwks, AuthlyApp.Issuer, _clientId, DateTimeOffset.UtcNow), Is.EqualTo("nonce present"));
            Assert.That(await LogoutReceiver.Validate(idToken, jwks, AuthlyApp.Issuer, _clientId, DateTimeOffset.UtcNow), Is.Not.Null,
                "an ID token is not a logout token (typ)");
        });
    }

    [Test, Description("Issue 18: a receiver that is down gets the logout once it is back (retry with backoff from the queue)")]
    public async Task Receiver_DownWhenTheSessionEnds_GetsTheLogoutWhenItIsBack()
    {
        var (browser, _, idToken, sid) = await SignedInAsync();
        using var _b = browser;
        _receiver.Status = 503;
        await browser.GetAsync(Logout(idToken));
        Assert.That(await Eventually.TrueAsync(async () => (await QueueRowAsync(sid)).LastError == "HTTP 503", TimeSpan.FromSeconds(15)), Is.True,
            "the first attempt failed and was recorded");
        Assert.That(_receiver.Posts.Any(p => SidOf(p.LogoutToken) == sid), Is.False);

        _receiver.Status = 200;
        await ReceivedAsync(sid, TimeSpan.FromSeconds(20));
        var row = await QueueRowAsync(sid);
        Assert.Multiple(() =>
        {
            Assert.That(row.Attempts, Is.GreaterThanOrEqualTo(2));
            Assert.That(row.Delivered, Is.True);
        });
    }

    [Test, Description("Issue 18: the queue is in PostgreSQL: a logout queued before a restart is delivered by the restarted server")]
    public async Task QueuedLogout_SurvivesARestart()
    {
        using var receiver = new LogoutReceiver();
        var cs = await TestServers.CreateDatabaseAsync();
        string sid;
        var first = await AuthlyApp.StartOnDatabaseAsync(cs);
        try
        {
            var clientId = await RegisterClientAsync(first, receiver.Url);
            var signedIn = await SignedInAsync(first, clientId);
            sid = signedIn.Sid;
            receiver.Status = 503;
            using (signedIn.Browser) await signedIn.Browser.GetAsync(Logout(signedIn.IdToken));
            Assert.That(await Eventually.TrueAsync(async () => (await QueueRowAsync(sid, first)).Attempts >= 1, TimeSpan.FromSeconds(15)), Is.True);
        }
        finally { first.Dispose(); }

        receiver.Status = 200;
        using var second = await AuthlyApp.StartOnDatabaseAsync(cs);
        // The row is due again when the backoff (or a claim's lease) stored for it says so; the first server may have made
        // several failed attempts before it stopped, so wait for that stored instant plus the usual margin.
        var dueIn = await second.SqlScalarAsync<double>(
            "SELECT GREATEST(0, EXTRACT(EPOCH FROM next_attempt_at - now()))::float8 FROM backchannel_logouts WHERE sid = @Sid", new { Sid = sid });
        Assert.That(await Eventually.TrueAsync(() => Task.FromResult(receiver.Posts.Any(p => SidOf(p.LogoutToken) == sid)),
                TimeSpan.FromSeconds(dueIn + 20)), Is.True,
            "the restarted server delivers what the first one queued");
    }

    [Test, Description("Back-Channel Logout §2.1: discovery advertises it, with sid; OIDC Core: the ID token carries the sid the logout names")]
    public async Task Discovery_AdvertisesBackchannelLogoutWithSessionSupport()
    {
        var doc = JsonNode.Parse(await _app.CreateClient().GetStringAsync("/.well-known/openid-configuration"))!;
        Assert.Multiple(() =>
        {
            Assert.That(doc["backchannel_logout_supported"]!.GetValue<bool>(), Is.True);
            Assert.That(doc["backchannel_logout_session_supported"]!.GetValue<bool>(), Is.True);
        });
    }

    [TestCase("https://rp.example/logout#frag", TestName = "Registration_BackchannelUriWithFragment_Returns400")]
    [TestCase("not a url", TestName = "Registration_BackchannelUriNotAUrl_Returns400")]
    [TestCase("ftp://rp.example/logout", TestName = "Registration_BackchannelUriNotHttp_Returns400")]
    [Description("Back-Channel Logout §2.2: an absolute http(s) URL without a fragment; refused with the field named, nothing created")]
    public async Task Registration_WithBadBackchannelUri_Returns400(string uri)
    {
        var admin = _app.BearerClient(await _app.AdminTokenAsync("admin:clients:write"));
        var response = await admin.PostAsJsonAsync("/admin/clients", new
        {
            client_name = "bad-bc-" + Guid.NewGuid().ToString("N")[..8], client_type = "public", redirect_uris = new[] { Redirect }, backchannel_logout_uri = uri,
        });
        var body = await AuthlyApp.JsonAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(body["field"]?.GetValue<string>(), Is.EqualTo("backchannel_logout_uri"));
        });
    }
}
