using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Security;
using Authly.Tests.Cluster;
using Authly.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace Authly.Tests.Vault;

/// <summary>
/// Issue #7's proof: the vault (an in-process Authly) keeps users' tokens for a second, real
/// Authly process acting as the upstream OpenID provider, over real HTTP — connect flow, minting
/// through refresh-token rotation, concurrency, upstream revocation, tampering and rest-at-rest.
/// </summary>
[TestFixture, Category("Vault")]
public sealed class VaultUpstreamTests
{
    private const string Provider = "upstream";
    private UpstreamAuthly _upstream = null!;
    private AuthlyApp _vault = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _upstream = await UpstreamAuthly.StartAsync(AuthlyApp.Issuer + "/api/v1/vault/callback");
        _vault = await AuthlyApp.StartAsync();
        var admin = VaultApp.Client(_vault, await _vault.AdminTokenAsync("admin:system:write admin:system:read"));
        var (status, body) = await VaultApp.SendAsync(admin, HttpMethod.Post, "/admin/vault/providers", new
        {
            name = Provider, display_name = "Upstream Authly", issuer = _upstream.Issuer, client_id = _upstream.ClientId,
            client_secret = _upstream.ClientSecret, scopes = UpstreamAuthly.Scopes,
        });
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), body.ToJsonString());
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _vault?.Dispose();
        if (_upstream is not null) await _upstream.DisposeAsync();
    }

    /// <summary>A vault user connected to a fresh upstream user through the browser flow.</summary>
    private async Task<(VaultApp.User User, UpstreamAuthly.User Upstream, Guid Entry, HttpClient Http)> ConnectedAsync(string purpose = "default")
    {
        var user = await VaultApp.UserAsync(_vault);
        var upstreamUser = await _upstream.CreateUserAsync();
        var entry = await VaultApp.ConnectAsync(_vault, user, Provider, url => _upstream.SignInAndApproveAsync(url, upstreamUser), purpose);
        return (user, upstreamUser, entry, VaultApp.Client(_vault, user.Token));
    }

    private NpgsqlDataSource Database() => _vault.Database();

    [Test, Description("Issue #7: the connect flow (authorization code + PKCE + offline_access) stores the result for the signed-in user")]
    public async Task ConnectFlow_WithUpstreamAuthly_StoresOfflineEntryForSignedInUser()
    {
        var (user, upstreamUser, entry, http) = await ConnectedAsync("calendar");
        var (status, list) = await VaultApp.SendAsync(http, HttpMethod.Get, "/api/v1/vault/tokens");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        var row = list["array"]!.AsArray().Single()!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(row, "id"), Is.EqualTo(entry.ToString()));
            Assert.That(AuthlyApp.Str(row, "user_id"), Is.EqualTo(user.Id.ToString()));
            Assert.That(AuthlyApp.Str(row, "provider"), Is.EqualTo(Provider));
            Assert.That(AuthlyApp.Str(row, "purpose"), Is.EqualTo("calendar"));
            Assert.That(AuthlyApp.Str(row, "token_type"), Is.EqualTo("offline"), "offline_access was requested and granted");
            Assert.That(AuthlyApp.Str(row, "scope"), Does.Contain("offline_access"));
            Assert.That(AuthlyApp.Str(row, "subject"), Is.EqualTo(upstreamUser.Id.ToString()), "sub from the verified ID token");
            Assert.That(AuthlyApp.Str(row, "status"), Is.EqualTo("active"));
        });
    }

    [Test, Description("Issue #7: connect state is single use")]
    public async Task Callback_ReplayedState_IsRefused()
    {
        var user = await VaultApp.UserAsync(_vault);
        var upstreamUser = await _upstream.CreateUserAsync();
        using var http = await VaultApp.BrowserAsync(_vault, user);
        var start = await http.GetAsync($"/api/v1/vault/connect/{Provider}");
        var callback = await _upstream.SignInAndApproveAsync(start.Headers.Location!.ToString(), upstreamUser);
        Assert.That((await http.GetAsync(callback.PathAndQuery)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "first use: the success page");
        var replay = await http.GetAsync(callback.PathAndQuery);
        Assert.That(replay.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await replay.Content.ReadAsStringAsync(), Does.Contain("expired or was already used"));
    }

    [Test, Description("Issue #7: a callback completed by another signed-in user stores nothing for anyone")]
    public async Task Callback_CompletedByAnotherUser_IsRefused()
    {
        var starter = await VaultApp.UserAsync(_vault);
        var other = await VaultApp.UserAsync(_vault);
        var upstreamUser = await _upstream.CreateUserAsync();
        using var startersBrowser = await VaultApp.BrowserAsync(_vault, starter);
        var start = await startersBrowser.GetAsync($"/api/v1/vault/connect/{Provider}");
        var callback = await _upstream.SignInAndApproveAsync(start.Headers.Location!.ToString(), upstreamUser);
        using var othersBrowser = await VaultApp.BrowserAsync(_vault, other);
        var stolen = await othersBrowser.GetAsync(callback.PathAndQuery);
        Assert.That(stolen.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        var (_, list) = await VaultApp.SendAsync(VaultApp.Client(_vault, other.Token), HttpMethod.Get, "/api/v1/vault/tokens");
        Assert.That(list["array"]!.AsArray(), Is.Empty);
    }

    [Test, Description("Issue #7: mint repeatedly; the short cache avoids a refresh per call; upstream rotation replaces the stored token")]
    public async Task Mint_Repeatedly_ReturnsUpstreamTokens_CachesThem_AndSurvivesRotation()
    {
        var (_, upstreamUser, entry, http) = await ConnectedAsync();
        var (s1, first) = await VaultApp.MintAsync(http, entry);
        Assert.That(s1, Is.EqualTo(HttpStatusCode.OK), first.ToJsonString());
        Assert.That(first["cached"]!.GetValue<bool>(), Is.False);
        var access = AuthlyApp.Str(first, "access_token");
        var claims = await _upstream.IntrospectAsync(access);
        Assert.That(claims["active"]!.GetValue<bool>(), Is.True);
        Assert.That(AuthlyApp.Str(claims, "sub"), Is.EqualTo(upstreamUser.Id.ToString()));

        var (_, second) = await VaultApp.MintAsync(http, entry);
        Assert.That((second["cached"]!.GetValue<bool>(), AuthlyApp.Str(second, "access_token")), Is.EqualTo((true, access)));

        // Each forced mint is a refresh grant upstream; Authly rotates the refresh token every time.
        var sealedBefore = await SealedRefreshTokenAsync(entry);
        var seen = new HashSet<string> { access };
        for (var i = 0; i < 4; i++)
        {
            var (s, forced) = await VaultApp.MintAsync(http, entry, new { force_refresh = true });
            Assert.That(s, Is.EqualTo(HttpStatusCode.OK), $"forced mint {i}: {forced.ToJsonString()}");
            Assert.That(seen.Add(AuthlyApp.Str(forced, "access_token")), Is.True, "a new token each time");
        }
        Assert.That(await SealedRefreshTokenAsync(entry), Is.Not.EqualTo(sealedBefore), "the rotated refresh token replaced the stored one");
        var (_, last) = await VaultApp.MintAsync(http, entry);
        Assert.That(await _upstream.IsActiveAsync(AuthlyApp.Str(last, "access_token")), Is.True);
    }

    [Test, Description("Issue #7: optional scope narrowing (RFC 6749 §6)")]
    public async Task Mint_WithNarrowerScope_ReturnsTokenWithThatScope()
    {
        var (_, _, entry, http) = await ConnectedAsync();
        var (status, body) = await VaultApp.MintAsync(http, entry, new { scope = "read" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(AuthlyApp.Str(await _upstream.IntrospectAsync(AuthlyApp.Str(body, "access_token")), "scope"), Is.EqualTo("read"));
        var (wider, error) = await VaultApp.MintAsync(http, entry, new { scope = "write" });
        Assert.That(((int)wider, AuthlyApp.Str(error, "error_code")), Is.EqualTo((400, "SCOPE_NOT_GRANTED")));
        var (still, _) = await VaultApp.MintAsync(http, entry, new { force_refresh = true });
        Assert.That(still, Is.EqualTo(HttpStatusCode.OK), "the refused request did not burn the stored token");
    }

    [Test, Description("Issue #7: 8 parallel mint calls all succeed and the upstream family is not revoked")]
    public async Task Mint_EightParallelCalls_AllSucceed_AndUpstreamFamilyStaysValid()
    {
        var (_, _, entry, http) = await ConnectedAsync();
        // Forced: every call is an upstream refresh that rotates the refresh token; the row lock serializes them.
        var forced = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => VaultApp.MintAsync(http, entry, new { force_refresh = true })));
        Assert.That(forced.Select(r => r.Status), Is.All.EqualTo(HttpStatusCode.OK), string.Join("\n", forced.Select(r => r.Body.ToJsonString())));
        Assert.That(forced.Select(r => AuthlyApp.Str(r.Body, "access_token")).Distinct().Count(), Is.EqualTo(8));

        // Unforced: one refresh, seven answers from the cache.
        var cached = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => VaultApp.MintAsync(http, entry, new { scope = "openid read" })));
        Assert.That(cached.Select(r => r.Status), Is.All.EqualTo(HttpStatusCode.OK));
        Assert.That(cached.Count(r => !r.Body["cached"]!.GetValue<bool>()), Is.EqualTo(1));

        foreach (var (_, body) in forced.Concat(cached))
            Assert.That(await _upstream.IsActiveAsync(AuthlyApp.Str(body, "access_token")), Is.True, "a reuse at the upstream would have revoked the family and its tokens");
        var (after, _) = await VaultApp.MintAsync(http, entry, new { force_refresh = true });
        Assert.That(after, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test, Description("Issue #7: two nodes minting from one entry at once never burn the same refresh token")]
    public async Task Mint_ConcurrentlyOnTwoNodes_AllSucceed_AndUpstreamFamilyStaysValid()
    {
        var (user, _, entry, http) = await ConnectedAsync();
        // A second vault node: a real process on the same database, issuer and (testing-mode) keys as the in-process one.
        var env = ClusterEnvironment.For(_vault.DatabaseConnectionString, AuthlyApp.Issuer);
        env.Remove("JWT_SECRET_KEY");
        env.Remove("JWT_REFRESH_SECRET_KEY");
        env["AUTHLY_MIGRATE_ON_START"] = "false";
        await using var node = await AuthlyNode.StartAsync(env);
        using var remote = new HttpClient { BaseAddress = new Uri(node.Url), Timeout = TimeSpan.FromSeconds(60) };
        remote.DefaultRequestHeaders.Authorization = new("Bearer", user.Token);

        var calls = Enumerable.Range(0, 8).Select(i => VaultApp.MintAsync(i % 2 == 0 ? http : remote, entry, new { force_refresh = true }));
        var results = await Task.WhenAll(calls);
        Assert.That(results.Select(r => r.Status), Is.All.EqualTo(HttpStatusCode.OK), string.Join("\n", results.Select(r => r.Body.ToJsonString())));
        foreach (var (_, body) in results)
            Assert.That(await _upstream.IsActiveAsync(AuthlyApp.Str(body, "access_token")), Is.True);
        var (after, _) = await VaultApp.MintAsync(remote, entry, new { force_refresh = true });
        Assert.That(after, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test, Description("Issue #7: upstream revocation surfaces as a clear invalid_grant")]
    public async Task Mint_AfterUpstreamRevokedTheGrant_Returns400UpstreamInvalidGrant()
    {
        var (_, upstreamUser, entry, http) = await ConnectedAsync();
        Assume.That((await VaultApp.MintAsync(http, entry)).Status, Is.EqualTo(HttpStatusCode.OK));
        await _upstream.LogoutEverywhereAsync(upstreamUser);

        var (status, body) = await VaultApp.MintAsync(http, entry, new { force_refresh = true });
        Assert.Multiple(() =>
        {
            Assert.That((int)status, Is.EqualTo(400), body.ToJsonString());
            Assert.That(AuthlyApp.Str(body, "error_code"), Is.EqualTo("UPSTREAM_INVALID_GRANT"));
            Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain("invalid_grant").And.Contain(Provider));
        });
        var (again, againBody) = await VaultApp.MintAsync(http, entry);
        Assert.That(((int)again, AuthlyApp.Str(againBody, "error_code")), Is.EqualTo((400, "UPSTREAM_INVALID_GRANT")), "no stale cached token either");
        var (_, row) = await VaultApp.SendAsync(http, HttpMethod.Get, $"/api/v1/vault/tokens/{entry}");
        Assert.That(AuthlyApp.Str(row, "status"), Is.EqualTo("invalid_grant"));
    }

    [Test, Description("Issue #7 / RFC 7009: revoking an entry revokes it upstream and erases every secret here")]
    public async Task Revoke_Entry_RevokesUpstreamAndErasesSecrets()
    {
        var (_, _, entry, http) = await ConnectedAsync();
        var (_, minted) = await VaultApp.MintAsync(http, entry);
        var access = AuthlyApp.Str(minted, "access_token");
        Assume.That(await _upstream.IsActiveAsync(access), Is.True);

        var (status, body) = await VaultApp.SendAsync(http, HttpMethod.Delete, $"/api/v1/vault/tokens/{entry}");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "upstream_revocation"), Is.EqualTo("revoked"));
        Assert.That(AuthlyApp.Str(body["entry"]!.AsObject(), "status"), Is.EqualTo("revoked"));
        Assert.That(await _upstream.IsActiveAsync(access), Is.False, "Authly revokes the family's access tokens with the refresh token");

        await using var db = Database();
        await using var conn = await db.OpenConnectionAsync();
        var secrets = await conn.QuerySingleAsync<(byte[]? R, byte[]? A, byte[]? K)>(
            "SELECT refresh_token_encrypted, access_token_encrypted, wrapped_key FROM vault_entries WHERE id = @entry", new { entry });
        Assert.That(secrets, Is.EqualTo(((byte[]?)null, (byte[]?)null, (byte[]?)null)));
        var (mint, mintBody) = await VaultApp.MintAsync(http, entry);
        Assert.That(((int)mint, AuthlyApp.Str(mintBody, "error_code")), Is.EqualTo((409, "ENTRY_REVOKED")));
    }

    [Test, Description("Issue #7: the entry's ids are associated data, so ciphertexts cannot be swapped between rows")]
    public async Task Mint_WithCiphertextSwappedFromAnotherEntry_IsRejected()
    {
        var (_, _, victim, http) = await ConnectedAsync("victim");
        var (_, _, donor, _) = await ConnectedAsync("donor");
        await using var db = Database();
        await using var conn = await db.OpenConnectionAsync();

        // Only the sealed token moved: it was sealed under the donor's data key.
        await conn.ExecuteAsync("""
            UPDATE vault_entries v SET refresh_token_encrypted = d.refresh_token_encrypted FROM vault_entries d
            WHERE v.id = @victim AND d.id = @donor
            """, new { victim, donor });
        var (status, body) = await VaultApp.MintAsync(http, victim, new { force_refresh = true });
        Assert.That(((int)status, AuthlyApp.Str(body, "error_code")), Is.EqualTo((500, "VAULT_ENTRY_UNREADABLE")), body.ToJsonString());

        // The whole envelope moved (data key and token): the data key is bound to the donor's row.
        await conn.ExecuteAsync("""
            UPDATE vault_entries v SET key_id = d.key_id, wrapped_key = d.wrapped_key, refresh_token_encrypted = d.refresh_token_encrypted
            FROM vault_entries d WHERE v.id = @victim AND d.id = @donor
            """, new { victim, donor });
        (status, body) = await VaultApp.MintAsync(http, victim, new { force_refresh = true });
        Assert.That(((int)status, AuthlyApp.Str(body, "error_code")), Is.EqualTo((500, "VAULT_ENTRY_UNREADABLE")));
        Assert.That(body.ToJsonString(), Does.Not.Contain("Exception").And.Not.Contain("vk_"), "nothing internal in the reply");
    }

    [Test, Description("Issue #7: a database dump of the vault tables shows no token or secret in clear text")]
    public async Task DatabaseDump_OfVaultTables_ShowsNoTokenInClearText()
    {
        // A service obtained the user's tokens itself and hands the refresh token to the vault (vault:write, naming the user).
        var user = await VaultApp.UserAsync(_vault);
        var upstreamUser = await _upstream.CreateUserAsync();
        var tokens = await _upstream.CodeFlowAsync(upstreamUser, AuthlyApp.Issuer + "/api/v1/vault/callback");
        var refreshToken = AuthlyApp.Str(tokens, "refresh_token");
        var (_, serviceToken) = await VaultApp.ServiceAsync(_vault);
        using var service = VaultApp.Client(_vault, serviceToken);
        var (stored, entry) = await VaultApp.SendAsync(service, HttpMethod.Post, "/api/v1/vault/tokens", new
        {
            provider = Provider, purpose = "dump", refresh_token = refreshToken, scope = AuthlyApp.Str(tokens, "scope"), user_id = user.Id,
        });
        Assert.That(stored, Is.EqualTo(HttpStatusCode.Created), entry.ToJsonString());
        var entryId = Guid.Parse(AuthlyApp.Str(entry, "id"));
        await AssertDumpHasNoneOfAsync(entryId, refreshToken, _upstream.ClientSecret);

        var (_, minted) = await VaultApp.MintAsync(service, entryId);
        var access = AuthlyApp.Str(minted, "access_token");
        Assert.That(await _upstream.IsActiveAsync(access), Is.True, "the stored token works");
        await AssertDumpHasNoneOfAsync(entryId, refreshToken, access, _upstream.ClientSecret);
    }

    /// <summary>Every row of every vault table as text (what a dump shows), searched for each secret and its hex form.</summary>
    private async Task AssertDumpHasNoneOfAsync(Guid entryId, params string[] secrets)
    {
        await using var db = Database();
        await using var conn = await db.OpenConnectionAsync();
        var dump = new StringBuilder();
        foreach (var table in new[] { "vault_providers", "vault_entries", "vault_entry_grants", "vault_connect_states", "vault_audit" })
            foreach (var row in await conn.QueryAsync<string>($"SELECT row_to_json(t)::text FROM {table} t")) dump.AppendLine(row);
        var text = dump.ToString();
        Assert.That(text, Does.Contain(entryId.ToString()), "the dump has the entry");
        foreach (var secret in secrets)
        {
            var hex = Convert.ToHexStringLower(Encoding.UTF8.GetBytes(secret));
            Assert.That(text, Does.Not.Contain(secret).And.Not.Contain(hex[..Math.Min(hex.Length, 40)]), "a secret in clear text");
        }
    }

    [Test, Description("Issue #7: service clients need vault:read/write and only see entries granted to them; users only their own")]
    public async Task Access_ByServiceClientsAndUsers_IsLimitedToTheirEntries()
    {
        var (owner, _, entry, ownerHttp) = await ConnectedAsync("shared");
        var (clientA, tokenA) = await VaultApp.ServiceAsync(_vault);
        var (_, tokenB) = await VaultApp.ServiceAsync(_vault);
        var (_, readOnly) = await VaultApp.ServiceAsync(_vault, "vault:read");
        using var a = VaultApp.Client(_vault, tokenA);
        using var b = VaultApp.Client(_vault, tokenB);
        using var ro = VaultApp.Client(_vault, readOnly);

        Assert.That((await VaultApp.MintAsync(a, entry)).Status, Is.EqualTo(HttpStatusCode.NotFound), "not granted: as if absent");
        var (_, listA) = await VaultApp.SendAsync(a, HttpMethod.Get, "/api/v1/vault/tokens");
        Assert.That(listA["array"]!.AsArray(), Is.Empty);

        var (granted, grantBody) = await VaultApp.SendAsync(ownerHttp, HttpMethod.Post, $"/api/v1/vault/tokens/{entry}/grants", new { client_id = clientA });
        Assert.That(granted, Is.EqualTo(HttpStatusCode.OK), grantBody.ToJsonString());
        var (minted, mintBody) = await VaultApp.MintAsync(a, entry);
        Assert.That(minted, Is.EqualTo(HttpStatusCode.OK), mintBody.ToJsonString());
        Assert.That((await VaultApp.MintAsync(b, entry)).Status, Is.EqualTo(HttpStatusCode.NotFound), "the grant is per client");
        var (_, seenByA) = await VaultApp.SendAsync(a, HttpMethod.Get, $"/api/v1/vault/tokens/{entry}");
        Assert.That(seenByA.ContainsKey("grants"), Is.False, "who else may use it is the owner's business");

        var (noWrite, noWriteBody) = await VaultApp.SendAsync(ro, HttpMethod.Post, "/api/v1/vault/tokens",
            new { provider = Provider, refresh_token = "x", user_id = owner.Id });
        Assert.That(((int)noWrite, AuthlyApp.Str(noWriteBody, "error_code")), Is.EqualTo((403, "INSUFFICIENT_SCOPE")));

        var stranger = await VaultApp.UserAsync(_vault);
        Assert.That((await VaultApp.MintAsync(VaultApp.Client(_vault, stranger.Token), entry)).Status, Is.EqualTo(HttpStatusCode.NotFound));
        var unscoped = await VaultApp.UserAsync(_vault, "read");
        var (noScope, noScopeBody) = await VaultApp.MintAsync(VaultApp.Client(_vault, unscoped.Token), entry);
        Assert.That(((int)noScope, AuthlyApp.Str(noScopeBody, "error_code")), Is.EqualTo((403, "INSUFFICIENT_SCOPE")));
        Assert.That((await VaultApp.Client(_vault, null).GetAsync("/api/v1/vault/tokens")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));

        // Every access is recorded — who, which entry, when, what — and never the token.
        var (_, audit) = await VaultApp.SendAsync(ownerHttp, HttpMethod.Get, $"/api/v1/vault/tokens/{entry}/audit");
        var records = audit["array"]!.AsArray().Select(r => r!.AsObject()).ToList();
        Assert.That(records.Any(r => AuthlyApp.Str(r, "actor") == $"client:{clientA}" && AuthlyApp.Str(r, "action") == "mint" && AuthlyApp.Str(r, "outcome") == "ok"),
            Is.True, audit.ToJsonString());
        Assert.That(records.Any(r => AuthlyApp.Str(r, "action") == "mint" && AuthlyApp.Str(r, "outcome") == "denied"), Is.True, "refusals are recorded too");
        Assert.That(records.All(r => r["at"] is not null && r["entry_id"]!.GetValue<string>() == entry.ToString()), Is.True);
        Assert.That(audit.ToJsonString(), Does.Not.Contain(AuthlyApp.Str(mintBody, "access_token")));
    }

    [Test, Description("Issue #7: a service client stores a user's token it obtained itself, and can use it; others cannot overwrite it")]
    public async Task Store_ByServiceClientNamingTheUser_IsGrantedToThatClient()
    {
        var user = await VaultApp.UserAsync(_vault);
        var upstreamUser = await _upstream.CreateUserAsync();
        var tokens = await _upstream.CodeFlowAsync(upstreamUser, AuthlyApp.Issuer + "/api/v1/vault/callback");
        var (clientId, token) = await VaultApp.ServiceAsync(_vault);
        using var service = VaultApp.Client(_vault, token);
        var request = new { provider = Provider, purpose = "sync", refresh_token = AuthlyApp.Str(tokens, "refresh_token"), user_id = user.Id, scope = "openid offline_access" };
        var (status, entry) = await VaultApp.SendAsync(service, HttpMethod.Post, "/api/v1/vault/tokens", request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), entry.ToJsonString());
        Assert.That((AuthlyApp.Str(entry, "token_type"), AuthlyApp.Str(entry, "created_by")), Is.EqualTo(("offline", $"client:{clientId}")));

        var (_, other) = await VaultApp.ServiceAsync(_vault);
        var (conflict, body) = await VaultApp.SendAsync(VaultApp.Client(_vault, other), HttpMethod.Post, "/api/v1/vault/tokens", request);
        Assert.That(((int)conflict, AuthlyApp.Str(body, "error_code")), Is.EqualTo((409, "ENTRY_EXISTS")));

        var grants = await _vault.SqlScalarAsync<string>("SELECT string_agg(client_id, ' ') FROM vault_entry_grants WHERE entry_id = @Id::uuid",
            new { Id = AuthlyApp.Str(entry, "id") });
        Assert.That(grants, Is.EqualTo(clientId));
        // The owner's token of another client does not reach it (issue 11): the entry is granted to the service only.
        var (ownerStatus, _) = await VaultApp.SendAsync(VaultApp.Client(_vault, await VaultApp.ThirdPartyTokenAsync(_vault, user)), HttpMethod.Get, $"/api/v1/vault/tokens/{AuthlyApp.Str(entry, "id")}");
        Assert.That(ownerStatus, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await VaultApp.MintAsync(service, Guid.Parse(AuthlyApp.Str(entry, "id")))).Status, Is.EqualTo(HttpStatusCode.OK));

        var (noUser, noUserBody) = await VaultApp.SendAsync(service, HttpMethod.Post, "/api/v1/vault/tokens", new { provider = Provider, refresh_token = "abc" });
        Assert.That(((int)noUser, AuthlyApp.Str(noUserBody, "field")), Is.EqualTo((400, "user_id")));
    }

    [Test, Description("Issue #7: validate through JWKS (a JWT) or the provider's introspection endpoint, with a short cache")]
    public async Task Validate_UpstreamAccessToken_ByJwksAndByIntrospection()
    {
        var (_, upstreamUser, entry, http) = await ConnectedAsync();
        var access = AuthlyApp.Str((await VaultApp.MintAsync(http, entry)).Body, "access_token");

        var (status, byJwks) = await VaultApp.SendAsync(http, HttpMethod.Post, "/api/v1/vault/validate", new { provider = Provider, token = access });
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), byJwks.ToJsonString());
        Assert.That((byJwks["active"]!.GetValue<bool>(), AuthlyApp.Str(byJwks, "method"), AuthlyApp.Str(byJwks, "sub"), byJwks["cached"]!.GetValue<bool>()),
            Is.EqualTo((true, "jwks", upstreamUser.Id.ToString(), false)));
        var (_, again) = await VaultApp.SendAsync(http, HttpMethod.Post, "/api/v1/vault/validate", new { provider = Provider, token = access });
        Assert.That(again["cached"]!.GetValue<bool>(), Is.True);

        var (_, byIntrospection) = await VaultApp.SendAsync(http, HttpMethod.Post, "/api/v1/vault/validate",
            new { provider = Provider, token = access, method = "introspection" });
        Assert.That((byIntrospection["active"]!.GetValue<bool>(), AuthlyApp.Str(byIntrospection, "method")), Is.EqualTo((true, "introspection")));

        foreach (var bad in new[] { "not-a-token", access[..^4] + "AAAA" })
        {
            var (_, inactive) = await VaultApp.SendAsync(http, HttpMethod.Post, "/api/v1/vault/validate", new { provider = Provider, token = bad });
            Assert.That(inactive["active"]!.GetValue<bool>(), Is.False, bad);
        }
    }

    [Test, Description("Issue #7: Authly's own sessions always; provider sessions only where the provider exposes them")]
    public async Task Sessions_ListsAuthlySessions_AndSaysUpstreamOffersNone()
    {
        var (_, _, entry, http) = await ConnectedAsync();
        var (status, body) = await VaultApp.SendAsync(http, HttpMethod.Get, "/api/v1/vault/sessions");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(body["authly"], Is.InstanceOf<JsonArray>());
        var upstream = body["providers"]!.AsArray().Single(p => p!["entry_id"]!.GetValue<string>() == entry.ToString())!;
        Assert.That(upstream["sessions_supported"]!.GetValue<bool>(), Is.False);
        var (ended, endBody) = await VaultApp.SendAsync(http, HttpMethod.Delete, $"/api/v1/vault/tokens/{entry}/sessions/some-sid");
        Assert.That(((int)ended, AuthlyApp.Str(endBody, "error_code")), Is.EqualTo((501, "NOT_SUPPORTED")));
    }

    [Test, Description("Issue #7: GET /health/ready checks the database and each upstream's discovery; GET /version")]
    public async Task HealthReady_ReportsEachProviderDiscovery_AndVersionAnswers()
    {
        using var http = _vault.CreateClient();
        var ready = await AuthlyApp.JsonAsync(await http.GetAsync("/health/ready"));
        Assert.That(AuthlyApp.Str(ready["vault_providers"]!.AsObject(), Provider), Is.EqualTo("ok"), ready.ToJsonString());

        var admin = VaultApp.Client(_vault, await _vault.AdminTokenAsync("admin:system:write"));
        var name = "down" + OpaqueToken.New(4).ToLowerInvariant().Replace('-', 'a').Replace('_', 'b');
        var (created, _) = await VaultApp.SendAsync(admin, HttpMethod.Post, "/admin/vault/providers", new
        {
            name, issuer = $"http://127.0.0.1:{AuthlyNode.FreePort()}", client_id = "x", client_secret = "y", check_discovery = false,
        });
        Assert.That(created, Is.EqualTo(HttpStatusCode.Created));
        try
        {
            var degraded = await http.GetAsync("/health/ready");
            var body = await AuthlyApp.JsonAsync(degraded);
            Assert.That((degraded.StatusCode, AuthlyApp.Str(body, "status")), Is.EqualTo((HttpStatusCode.OK, "degraded")), body.ToJsonString());
            Assert.That(AuthlyApp.Str(body["vault_providers"]!.AsObject(), name), Does.StartWith("unreachable"));
            Assert.That((await http.GetAsync("/health/ready?strict=true")).StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        }
        finally { await VaultApp.SendAsync(admin, HttpMethod.Delete, $"/admin/vault/providers/{name}"); }

        var version = await AuthlyApp.JsonAsync(await http.GetAsync("/version"));
        Assert.That(AuthlyApp.Str(version, "version"), Does.Match(@"^\d+\.\d+\.\d+"));
    }

    [Test, Description("Issue #7: providers are managed through the admin API (admin:system:read|write); the secret is never shown")]
    public async Task AdminProviders_AreCheckedAndNeverShowTheSecret()
    {
        var writer = VaultApp.Client(_vault, await _vault.AdminTokenAsync("admin:system:write admin:system:read"));
        var (_, list) = await VaultApp.SendAsync(writer, HttpMethod.Get, "/admin/vault/providers");
        var upstream = list["array"]!.AsArray().Single(p => p!["name"]!.GetValue<string>() == Provider)!.AsObject();
        Assert.That(upstream["has_client_secret"]!.GetValue<bool>(), Is.True);
        Assert.That(list.ToJsonString(), Does.Not.Contain(_upstream.ClientSecret));
        Assert.That(list["array"]!.AsArray().Any(p => p!["name"]!.GetValue<string>() == "authly" && p["kind"]!.GetValue<string>() == "local"), Is.True,
            "this Authly is a provider by default");

        var cases = new (object Body, int Status, string Code)[]
        {
            (new { name = "plain", issuer = "http://idp.example.test", client_id = "c", client_secret = "s" }, 400, "INVALID_REQUEST"),
            (new { name = "Bad Name", issuer = "https://idp.example.test", client_id = "c", client_secret = "s" }, 400, "INVALID_REQUEST"),
            (new { name = "nosecret", issuer = "https://idp.example.test", client_id = "c" }, 400, "INVALID_REQUEST"),
            (new { name = "nodiscovery", issuer = $"http://127.0.0.1:{AuthlyNode.FreePort()}", client_id = "c", client_secret = "s" }, 400, "PROVIDER_DISCOVERY_FAILED"),
            (new { name = Provider, issuer = _upstream.Issuer, client_id = "c", client_secret = "s" }, 409, "PROVIDER_EXISTS"),
        };
        foreach (var (body, expected, code) in cases)
        {
            var (status, error) = await VaultApp.SendAsync(writer, HttpMethod.Post, "/admin/vault/providers", body);
            Assert.That(((int)status, AuthlyApp.Str(error, "error_code")), Is.EqualTo((expected, code)), error.ToJsonString());
        }

        var reader = VaultApp.Client(_vault, await _vault.AdminTokenAsync("admin:system:read"));
        var (forbidden, _) = await VaultApp.SendAsync(reader, HttpMethod.Post, "/admin/vault/providers", new { name = "x" });
        Assert.That(forbidden, Is.EqualTo(HttpStatusCode.Forbidden));
        var user = await VaultApp.UserAsync(_vault);
        var (notAdmin, _) = await VaultApp.SendAsync(VaultApp.Client(_vault, user.Token), HttpMethod.Get, "/admin/vault/providers");
        Assert.That(notAdmin, Is.EqualTo(HttpStatusCode.Forbidden));
    }

    private async Task<byte[]> SealedRefreshTokenAsync(Guid entry)
    {
        await using var db = Database();
        await using var conn = await db.OpenConnectionAsync();
        return await conn.QuerySingleAsync<byte[]>("SELECT refresh_token_encrypted FROM vault_entries WHERE id = @entry", new { entry });
    }
}
