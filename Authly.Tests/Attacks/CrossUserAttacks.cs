using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Insecure direct object references across users (RFC 6749 §10.3/§10.4 access and refresh
/// tokens are bound to their user and client, RFC 6750 §5.2, RFC 9700 §4.10): a user's token
/// reaches only that user's sessions, vault entries and tokens, whatever id is put in the URL —
/// and a vault entry only through the clients it is granted to.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class CrossUserAttacks : AppFixture
{
    private const string VaultScopes = "vault:read vault:write";
    private (string Id, string Secret) _clientX, _clientY;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var x = await _app.CreateConfidentialClientAsync($"read {VaultScopes}", ["password", "refresh_token"]);
        var y = await _app.CreateConfidentialClientAsync($"read {VaultScopes}", ["password", "refresh_token"]);
        _clientX = (x.Id, x.Secret!);
        _clientY = (y.Id, y.Secret!);
    }

    private async Task<JsonObject> TokensThroughAsync((string Id, string Secret) client, TestUsers.TestUser user, string scope = VaultScopes) =>
        await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(client.Id, client.Secret),
            ("grant_type", "password"), ("username", user.Username), ("password", user.Password), ("scope", scope)));

    private async Task<HttpClient> VaultClientAsync((string Id, string Secret) client, TestUsers.TestUser user) =>
        _app.BearerClient(AuthlyApp.Str(await TokensThroughAsync(client, user), "access_token"));

    private static async Task<Guid> StoreEntryAsync(HttpClient http, string purpose)
    {
        var response = await http.PostAsJsonAsync("/api/v1/vault/tokens", new { provider = "authly", purpose, refresh_token = "upstream-rt-" + Guid.NewGuid().ToString("N") });
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToJsonString());
        return Guid.Parse(AuthlyApp.Str(body, "id"));
    }

    private Task<string> EntryStatusAsync(Guid id) => _app.SqlScalarAsync<string>("SELECT status FROM vault_entries WHERE id = @Id", new { Id = id });

    private async Task<bool> IsActiveAsync(string token) =>
        (await AuthlyApp.JsonAsync(await _app.PostFormAsync("/api/v1/oauth/introspect", ("token", token))))["active"]!.GetValue<bool>();

    [Test, Description("RFC 9700 §4.10 / RFC 6750 §5.2: another user's vault entry is 404 for read, mint, revoke, grant and audit; nothing changes")]
    public async Task OtherUsersVaultEntry_ByItsId_IsNotFoundForEveryAction()
    {
        var victim = await _app.RegisterUserAsync();
        var attacker = await _app.RegisterUserAsync();
        var entry = await StoreEntryAsync(await VaultClientAsync(_clientX, victim), "mail");
        var http = await VaultClientAsync(_clientX, attacker);

        var attempts = new (HttpMethod Method, string Path, object? Body)[]
        {
            (HttpMethod.Get, $"/api/v1/vault/tokens/{entry}", null),
            (HttpMethod.Post, $"/api/v1/vault/tokens/{entry}/access-token", new { }),
            (HttpMethod.Delete, $"/api/v1/vault/tokens/{entry}", null),
            (HttpMethod.Post, $"/api/v1/vault/tokens/{entry}/grants", new { client_id = _clientY.Id }),
            (HttpMethod.Get, $"/api/v1/vault/tokens/{entry}/audit", null),
        };
        foreach (var (method, path, body) in attempts)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            var response = await http.SendAsync(request);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), $"{method} {path}: {await response.Content.ReadAsStringAsync()}");
        }
        var listed = await http.GetStringAsync("/api/v1/vault/tokens");
        Assert.That(listed, Does.Not.Contain(entry.ToString()));
        Assert.That(await EntryStatusAsync(entry), Is.EqualTo("active"));
        var grants = await _app.SqlScalarAsync<long>("SELECT count(*) FROM vault_entry_grants WHERE entry_id = @Id AND client_id = @C", new { Id = entry, C = _clientY.Id });
        Assert.That(grants, Is.Zero);
    }

    [Test, Description("RFC 9700 §4.10: the owner's own token through a client the entry is not granted to does not reach the entry")]
    public async Task OwnVaultEntry_ThroughAClientItIsNotGrantedTo_IsNotFound()
    {
        var owner = await _app.RegisterUserAsync();
        var entry = await StoreEntryAsync(await VaultClientAsync(_clientX, owner), "calendar");
        var throughY = await VaultClientAsync(_clientY, owner);

        Assert.That((await throughY.GetAsync($"/api/v1/vault/tokens/{entry}")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await throughY.PostAsJsonAsync($"/api/v1/vault/tokens/{entry}/access-token", new { })).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await throughY.DeleteAsync($"/api/v1/vault/tokens/{entry}")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await throughY.GetStringAsync("/api/v1/vault/tokens"), Does.Not.Contain(entry.ToString()));
        var sessions = await throughY.GetStringAsync("/api/v1/vault/sessions");
        Assert.That(sessions, Does.Not.Contain(entry.ToString()));
        Assert.That(await EntryStatusAsync(entry), Is.EqualTo("active"));

        // The client it is granted to still reaches it.
        var throughX = await VaultClientAsync(_clientX, owner);
        Assert.That((await throughX.GetAsync($"/api/v1/vault/tokens/{entry}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test, Description("RFC 9700 §4.10: an app holding the user's token cannot pass the entry it was given on to another client, nor read its access record")]
    public async Task ThirdPartyApp_GrantingItsEntryToAnotherClient_IsRefusedAndGrantsStay()
    {
        var owner = await _app.RegisterUserAsync();
        var throughX = await VaultClientAsync(_clientX, owner);
        var entry = await StoreEntryAsync(throughX, "drive");
        var grant = await throughX.PostAsJsonAsync($"/api/v1/vault/tokens/{entry}/grants", new { client_id = _clientY.Id });
        Assert.That(grant.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), await grant.Content.ReadAsStringAsync());
        var ungrant = await throughX.DeleteAsync($"/api/v1/vault/tokens/{entry}/grants/{_clientX.Id}");
        Assert.That(ungrant.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), await ungrant.Content.ReadAsStringAsync());
        Assert.That((await throughX.GetAsync($"/api/v1/vault/tokens/{entry}/audit")).StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        var stored = await throughX.PostAsJsonAsync("/api/v1/vault/tokens", new { provider = "authly", purpose = "other", refresh_token = "rt-" + Guid.NewGuid(), grant_to = new[] { _clientY.Id } });
        Assert.That(stored.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), await stored.Content.ReadAsStringAsync());
        Assert.That(await _app.SqlScalarAsync<string>("SELECT string_agg(client_id, ' ') FROM vault_entry_grants WHERE entry_id = @Id", new { Id = entry }),
            Is.EqualTo(_clientX.Id), "the grants changed");
    }

    [Test, Description("RFC 9700 §4.10: ending another user's session by its sid is 404 and the session stays")]
    public async Task OtherUsersSession_EndedBySid_IsNotFoundAndStays()
    {
        var victim = await _app.RegisterUserAsync();
        var attacker = await _app.RegisterUserAsync();
        using (var browser = new BrowserFlow(_app)) await browser.SignInDirectlyAsync(victim);
        var sid = await _app.SqlScalarAsync<string>("SELECT sid FROM sessions WHERE user_id = @Id AND ended_at IS NULL LIMIT 1", new { victim.Id });

        var http = await VaultClientAsync(_clientX, attacker);
        Assert.That(await http.GetStringAsync("/api/v1/vault/sessions"), Does.Not.Contain(sid));
        var ended = await http.DeleteAsync($"/api/v1/vault/sessions/{sid}");
        // A third-party app may end no Authly session at all (not even its user's own), so this is refused before any lookup.
        Assert.That(ended.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), await ended.Content.ReadAsStringAsync());
        Assert.That(await _app.SqlScalarAsync<bool>("SELECT ended_at IS NULL FROM sessions WHERE sid = @Sid", new { Sid = sid }), Is.True);

        // Nor through the admin API without being an admin.
        var cli = _app.BearerClient(AuthlyApp.Str(await _app.PasswordTokenAsync(attacker.Username, attacker.Password), "access_token"));
        Assert.That((int)(await cli.GetAsync($"/admin/users/{victim.Id}/sessions")).StatusCode, Is.EqualTo(403).Or.EqualTo(401));
        Assert.That((int)(await cli.DeleteAsync($"/admin/users/{victim.Id}/sessions/{sid}")).StatusCode, Is.EqualTo(403).Or.EqualTo(401));
        Assert.That(await _app.SqlScalarAsync<bool>("SELECT ended_at IS NULL FROM sessions WHERE sid = @Sid", new { Sid = sid }), Is.True);
    }

    [Test, Description("RFC 7009 §2.1 / RFC 6749 §10.4: a client cannot revoke or refresh another user's token issued to another client")]
    public async Task OtherUsersTokens_RevokedOrRefreshedByAnotherClient_StayValid()
    {
        var victim = await _app.RegisterUserAsync();
        var tokens = await TokensThroughAsync(_clientY, victim, "read");
        var refresh = AuthlyApp.Str(tokens, "refresh_token");
        var access = AuthlyApp.Str(tokens, "access_token");

        foreach (var token in new[] { refresh, access })
        {
            var revoked = await _app.PostFormAsync("/api/v1/oauth/revoke", AuthlyApp.Basic(_clientX.Id, _clientX.Secret), ("token", token));
            Assert.That((int)revoked.StatusCode, Is.EqualTo(200).Or.EqualTo(400).Or.EqualTo(401), await revoked.Content.ReadAsStringAsync());
        }
        var stolen = await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(_clientX.Id, _clientX.Secret), ("grant_type", "refresh_token"), ("refresh_token", refresh));
        await OAuthAssert.ErrorAsync(stolen, HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await IsActiveAsync(refresh), Is.True, "refresh token");
        Assert.That(await IsActiveAsync(access), Is.True, "access token");
    }

    [Test, Description("RFC 6750 §5.2: /users/me is always the token's own user; no id in the request can change that")]
    public async Task UsersMe_WithAnotherUsersIdInTheRequest_IsStillTheCaller()
    {
        var victim = await _app.RegisterUserAsync();
        var attacker = await _app.RegisterUserAsync();
        var http = _app.BearerClient(AuthlyApp.Str(await _app.PasswordTokenAsync(attacker.Username, attacker.Password), "access_token"));
        var me = await AuthlyApp.JsonAsync(await http.GetAsync($"/api/v1/users/me?id={victim.Id}&user_id={victim.Id}"));
        Assert.That(AuthlyApp.Str(me, "id"), Is.EqualTo(attacker.Id.ToString()));
        var other = await http.GetAsync($"/api/v1/users/{victim.Id}");
        Assert.That((int)other.StatusCode, Is.EqualTo(403).Or.EqualTo(401));
    }
}
