using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Authly.Storage;
using Authly.Tests.Cli;
using Authly.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 14's second review: the one-transaction refresh rotation and code redemption (client binding inside the rotate
/// statement, the user read in the same round trip), the sweeper's new conditions and the queued access log, attacked by
/// another client, by parallel bursts against revocation, deactivation and password resets, by database errors in the
/// middle of a transaction, and by lifetimes that disagree with the rows the sweeper examines.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class Issue14ReviewAttacks : RelyingPartyFixture
{
    private const int Rounds = 6;
    private (string Id, string Secret) _x, _y;
    private HttpClient _admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var x = await _app.CreateConfidentialClientAsync("read", ["password", "refresh_token"]);
        var y = await _app.CreateConfidentialClientAsync("read", ["password", "refresh_token"]);
        (_x, _y) = ((x.Id, x.Secret!), (y.Id, y.Secret!));
        _admin = await _app.AdminClientAsync("admin:users:read admin:users:write");
    }

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private async Task<int> ExecAsync(string sql, object? args = null)
    {
        await using var db = _app.Database();
        await using var conn = await db.OpenConnectionAsync();
        return await Dapper.SqlMapper.ExecuteAsync(conn, sql, args);
    }

    private async Task<string> LoginAsync(AuthlyApp.TestUser user, (string Id, string Secret) client) =>
        AuthlyApp.Str(await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(client.Id, client.Secret),
            ("grant_type", "password"), ("username", user.Username), ("password", user.Password))), "refresh_token");

    private Task<HttpResponseMessage> RefreshAsync(string refresh, (string Id, string Secret) client) =>
        _app.PostFormAsync(TokenPath, AuthlyApp.Basic(client.Id, client.Secret), ("grant_type", "refresh_token"), ("refresh_token", refresh));

    private Task<bool> RotatedAsync(string refresh) =>
        _app.SqlScalarAsync<bool>("SELECT rotated_at IS NOT NULL FROM refresh_tokens WHERE token_hash = @Hash", new { Hash = Hash(refresh) });

    private Task<bool> FamilyRevokedAsync(string refresh) => _app.SqlScalarAsync<bool>(
        "SELECT f.revoked_at IS NOT NULL FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id WHERE t.token_hash = @Hash",
        new { Hash = Hash(refresh) });

    // What a user still holds: families not revoked, and access tokens issued from any family, still unexpired, that are
    // not on the revocation list.
    private async Task<(long LiveFamilies, long LiveAccessTokens)> LeftActiveAsync(Guid userId) => (
        await _app.SqlScalarAsync<long>("SELECT count(*) FROM refresh_token_families WHERE user_id = @userId AND revoked_at IS NULL", new { userId }),
        await _app.SqlScalarAsync<long>("""
            SELECT count(*) FROM refresh_tokens t WHERE t.user_id = @userId AND t.access_expires_at > now()
              AND NOT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = t.access_jti)
            """, new { userId }));

    private async Task<bool> IsActiveAsync(string token) =>
        (await AuthlyApp.JsonAsync(await _app.PostFormAsync(IntrospectPath, ("token", token))))["active"]!.GetValue<bool>();

    // ---- the client binding, now inside the rotate statement ------------------------------------------------------------

    [Test, Description("RFC 6749 §6 / issue 14 review: another confidential client, a public client and a caller without a client present " +
                       "client X's refresh token, current and rotated: none rotates it, burns it or revokes its family")]
    public async Task Rfc6749_6_OtherClientsAndNoClient_NeitherRotateBurnNorRevokeAnotherClientsToken()
    {
        var user = await _app.CreateUserAsync();
        var refresh0 = await LoginAsync(user, _x);

        await OAuthAssert.ErrorAsync(await RefreshAsync(refresh0, _y), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That((int)(await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh0), ("client_id", _clientId))).StatusCode,
            Is.InRange(400, 401), "a public client");
        await OAuthAssert.InvalidClientAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh0)));
        Assert.That(await RotatedAsync(refresh0), Is.False, "none of them burnt the token");

        var refresh1 = AuthlyApp.Str(await OAuthAssert.TokenAsync(await RefreshAsync(refresh0, _x)), "refresh_token");
        // refresh0 is rotated now: presented by its own client it would be reuse; by anyone else it must change nothing.
        await OAuthAssert.ErrorAsync(await RefreshAsync(refresh0, _y), HttpStatusCode.BadRequest, "invalid_grant");
        await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh0), ("client_id", _clientId));
        await OAuthAssert.InvalidClientAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh0)));
        Assert.That(await FamilyRevokedAsync(refresh0), Is.False, "another client's replay of a rotated token is not reuse detection's trigger");
        await OAuthAssert.TokenAsync(await RefreshAsync(refresh1, _x));
    }

    // ---- parallel bursts ---------------------------------------------------------------------------------------------------

    [Test, Description("RFC 7009 §2.1, RFC 9700 §4.14.2: a revocation of the family racing a rotation of its token, " + "6 rounds: " +
                       "whichever commits first, nothing the rotation answered stays active")]
    public async Task Rfc7009_2_1_RevocationRacingARotation_LeavesNothingTheRotationIssuedActive()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var user = await _app.CreateUserAsync();
            var refresh0 = await LoginAsync(user, _x);
            var rotate = RefreshAsync(refresh0, _x);
            var revoke = _app.PostFormAsync(RevokePath, AuthlyApp.Basic(_x.Id, _x.Secret), ("token", refresh0), ("token_type_hint", "refresh_token"));
            await Task.WhenAll(rotate, revoke);

            Assert.That(revoke.Result.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await LeftActiveAsync(user.Id), Is.EqualTo((0L, 0L)), $"round {round}: a family or access token survived the revocation");
            if (rotate.Result.StatusCode == HttpStatusCode.OK)
            {
                var won = await AuthlyApp.JsonAsync(rotate.Result);
                Assert.That(await IsActiveAsync(AuthlyApp.Str(won, "access_token")), Is.False);
                await OAuthAssert.ErrorAsync(await RefreshAsync(AuthlyApp.Str(won, "refresh_token"), _x), HttpStatusCode.BadRequest, "invalid_grant");
            }
        }
    }

    [TestCase("deactivate"), TestCase("reset-password")]
    [Description("RFC 9700 §4.14, issue 14 review: a deactivation or an admin password reset racing a rotation, 6 rounds: the user read in the " +
                 "rotation's round trip is either the new state (refused) or the rotation commits before the revocation, which then finds it")]
    public async Task Rfc9700_4_14_AccountChangeRacingARotation_LeavesNothingActive(string change)
    {
        for (var round = 0; round < Rounds; round++)
        {
            var user = await _app.CreateUserAsync();
            var refresh0 = await LoginAsync(user, _x);
            var rotate = RefreshAsync(refresh0, _x);
            var account = change == "deactivate"
                ? _admin.PutAsJsonAsync($"/admin/users/{user.Id}", new { is_active = false })
                : _admin.PostAsJsonAsync($"/admin/users/{user.Id}/reset-password", new { new_password = "Chosen-Password-9" });
            await Task.WhenAll(rotate, account);

            Assert.That(account.Result.StatusCode, Is.EqualTo(HttpStatusCode.OK), await account.Result.Content.ReadAsStringAsync());
            Assert.That(await LeftActiveAsync(user.Id), Is.EqualTo((0L, 0L)), $"round {round}: something issued before or during the {change} survived it");
            if (rotate.Result.StatusCode == HttpStatusCode.OK)
                await OAuthAssert.ErrorAsync(await RefreshAsync(AuthlyApp.Str(await AuthlyApp.JsonAsync(rotate.Result), "refresh_token"), _x),
                    HttpStatusCode.BadRequest, "invalid_grant");
        }
    }

    [Test, Description("RFC 6749 §4.1.2, issue 14 review: a deactivation racing a code redemption, 6 rounds: the family the redemption " +
                       "creates either is refused (the user row is read and locked in the redemption's transaction) or is revoked after it")]
    public async Task Rfc6749_4_1_2_DeactivationRacingACodeRedemption_LeavesNothingActive()
    {
        for (var round = 0; round < Rounds; round++)
        {
            var user = await _app.RegisterUserAsync();
            using var browser = new BrowserFlow(_app);
            var request = new BrowserFlow.Request(_clientId, Redirect, "openid offline_access");
            var code = await browser.CodeAsync(request, user);
            var redeem = browser.ExchangeRawAsync(request.ClientId, code, request.RedirectUri, request.Verifier);
            var deactivate = _admin.PutAsJsonAsync($"/admin/users/{user.Id}", new { is_active = false });
            await Task.WhenAll(redeem, deactivate);

            Assert.That(deactivate.Result.StatusCode, Is.EqualTo(HttpStatusCode.OK), await deactivate.Result.Content.ReadAsStringAsync());
            Assert.That(await LeftActiveAsync(user.Id), Is.EqualTo((0L, 0L)), $"round {round}: the redemption's family outlived the deactivation");
        }
    }

    // ---- refusals and errors in the middle of the transaction ------------------------------------------------------------

    [TestCase("redirect_uri"), TestCase("code_verifier"), TestCase("expired")]
    [Description("RFC 6749 §4.1.2, §4.1.3, RFC 7636 §4.6: a refused redemption still burns the code now that consumption is part of a " +
                 "transaction: the consumption is committed before the refusal, so the right request afterwards is a replay")]
    public async Task Rfc6749_4_1_3_RefusedRedemption_StillBurnsTheCode(string wrong)
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect, "openid offline_access");
        var code = await browser.CodeAsync(request, user);
        if (wrong == "expired")
            Assert.That(await browser.ExecuteSqlAsync("UPDATE authorization_codes SET expires_at = now() - interval '1 second' WHERE user_id = @Id", new { user.Id }), Is.EqualTo(1));

        var refused = await browser.ExchangeRawAsync(request.ClientId, code, wrong == "redirect_uri" ? Redirect + "/other" : request.RedirectUri,
            wrong == "code_verifier" ? BrowserFlow.NewVerifier() : request.Verifier);
        await OAuthAssert.ErrorAsync(refused, HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await browser.ScalarAsync<bool>("SELECT consumed_at IS NOT NULL FROM authorization_codes WHERE user_id = @Id", new { user.Id }), Is.True);
        if (wrong != "expired")
            await OAuthAssert.ErrorAsync(await browser.ExchangeRawAsync(request.ClientId, code, request.RedirectUri, request.Verifier),
                HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await browser.ScalarAsync<long>("SELECT count(*) FROM refresh_token_families WHERE user_id = @Id", new { user.Id }), Is.Zero);
    }

    [Test, Description("RFC 6749 §4.1.3: another client presenting an intercepted code neither consumes it nor revokes anything; the rightful client still redeems it")]
    public async Task Rfc6749_4_1_3_CodePresentedByAnotherClient_IsNotConsumed()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect, "openid offline_access");
        var code = await browser.CodeAsync(request, user);
        var other = await BrowserFlow.CreatePublicClientAsync(_app, [Redirect]);

        await OAuthAssert.ErrorAsync(await browser.ExchangeRawAsync(other, code, request.RedirectUri, request.Verifier), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await browser.ScalarAsync<bool>("SELECT consumed_at IS NULL AND replayed_at IS NULL FROM authorization_codes WHERE user_id = @Id", new { user.Id }), Is.True);
        var tokens = await browser.ExchangeAsync(request, code);
        Assert.That(await browser.IsActiveAsync(AuthlyApp.Str(tokens, "access_token")), Is.True);
    }

    // A trigger that fails one statement of the transaction under test, dropped afterwards. Names and ids are generated
    // here (no input), as DDL cannot take parameters.
    private async Task<IAsyncDisposable> FailingTriggerAsync(string table, string when)
    {
        var name = "t_fail_" + Guid.NewGuid().ToString("N")[..10];
        await ExecAsync($"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$;
            CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION {name}();
            """);
        return new Dropping(() => ExecAsync($"DROP TRIGGER {name} ON {table}; DROP FUNCTION {name}();"));
    }

    private sealed class Dropping(Func<Task<int>> drop) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await drop();
    }

    [Test, Description("Issue 14 review: a database error while the rotation writes its successor rolls the whole rotation back: " +
                       "nothing is answered, no successor stays, and the client's retry rotates normally instead of counting as reuse")]
    public async Task Issue14_DatabaseErrorInTheRotationsCommit_RollsBack_AndTheRetryIsNotReuse()
    {
        var user = await _app.CreateUserAsync();
        var refresh0 = await LoginAsync(user, _x);
        var family = await _app.SqlScalarAsync<Guid>("SELECT family_id FROM refresh_tokens WHERE token_hash = @Hash", new { Hash = Hash(refresh0) });

        await using (await FailingTriggerAsync("refresh_tokens", $"NEW.family_id = '{family}'::uuid AND NEW.token_hash <> '\\x{Convert.ToHexString(Hash(refresh0))}'::bytea"))
        {
            var failed = await RefreshAsync(refresh0, _x);
            var body = await failed.Content.ReadAsStringAsync();
            Assert.That((int)failed.StatusCode, Is.GreaterThanOrEqualTo(500), body);
            Assert.That(body, Does.Not.Contain("access_token").And.Not.Contain("refresh_token\""));
        }
        Assert.That(await RotatedAsync(refresh0), Is.False, "the rotation was rolled back");
        Assert.That(await _app.SqlScalarAsync<long>("SELECT count(*) FROM refresh_tokens WHERE family_id = @family", new { family }), Is.EqualTo(1));
        await OAuthAssert.TokenAsync(await RefreshAsync(refresh0, _x));
        Assert.That(await FamilyRevokedAsync(refresh0), Is.False);
    }

    [Test, Description("Issue 14 review: a database error while a redemption records what it issued rolls the redemption back: nothing is " +
                       "answered, no family stays, and since nothing was handed out the client's retry is served once")]
    public async Task Issue14_DatabaseErrorInTheRedemptionsRecord_RollsBack_NothingHandedOutNorKept()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect, "openid offline_access");
        var code = await browser.CodeAsync(request, user);

        await using (await FailingTriggerAsync("authorization_codes", $"NEW.user_id = '{user.Id}'::uuid AND NEW.access_jti IS NOT NULL"))
        {
            var failed = await browser.ExchangeRawAsync(request.ClientId, code, request.RedirectUri, request.Verifier);
            var body = await failed.Content.ReadAsStringAsync();
            Assert.That((int)failed.StatusCode, Is.GreaterThanOrEqualTo(500), body);
            Assert.That(body, Does.Not.Contain("access_token"));
        }
        Assert.That(await browser.ScalarAsync<long>("SELECT count(*) FROM refresh_token_families WHERE user_id = @Id", new { user.Id }), Is.Zero,
            "the family written in the redemption's transaction was rolled back");
        var tokens = await browser.ExchangeAsync(request, code);
        Assert.That(await browser.IsActiveAsync(AuthlyApp.Str(tokens, "access_token")), Is.True);
        await OAuthAssert.ErrorAsync(await browser.ExchangeRawAsync(request.ClientId, code, request.RedirectUri, request.Verifier),
            HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await browser.IsActiveAsync(AuthlyApp.Str(tokens, "access_token")), Is.False, "and used once it is single-use again");
    }

    // ---- the sweeper's new conditions ------------------------------------------------------------------------------------

    private Task SweepAsync() => _app.Services.GetRequiredService<ExpiredRowSweeper>().SweepOnceAsync(CancellationToken.None);

    [Test, Description("RFC 9700 §4.14.2 / issue 14 review: a family created long before the current refresh lifetime (issued when the " +
                       "lifetime was longer) whose latest member still lives is kept by a sweep, and its rotated member still detects reuse")]
    public async Task Rfc9700_4_14_2_Sweep_KeepsAnOldFamilyWithALiveMember_AndReuseIsStillDetected()
    {
        var user = await _app.CreateUserAsync();
        var refresh0 = await LoginAsync(user, _x);
        var refresh1 = AuthlyApp.Str(await OAuthAssert.TokenAsync(await RefreshAsync(refresh0, _x)), "refresh_token");
        // The family is far older than REFRESH_TOKEN_EXPIRE_DAYS (so the created_at condition lets the sweep examine it); its
        // first member died long ago, outside the retry window; its second member lives.
        await ExecAsync("""
            UPDATE refresh_token_families SET created_at = now() - interval '400 days' WHERE id = (SELECT family_id FROM refresh_tokens WHERE token_hash = @Hash);
            UPDATE refresh_tokens SET issued_at = now() - interval '400 days', rotated_at = now() - interval '1 day',
                   expires_at = now() - interval '1 day', access_expires_at = now() - interval '1 day' WHERE token_hash = @Hash
            """, new { Hash = Hash(refresh0) });

        await SweepAsync();

        Assert.That(await _app.SqlScalarAsync<long>("SELECT count(*) FROM refresh_tokens WHERE token_hash = @Hash", new { Hash = Hash(refresh0) }), Is.EqualTo(1),
            "the rotated member is what detects its reuse");
        await OAuthAssert.ErrorAsync(await RefreshAsync(refresh0, _x), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await FamilyRevokedAsync(refresh1), Is.True, "reuse revoked the family");
        await OAuthAssert.ErrorAsync(await RefreshAsync(refresh1, _x), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Test, Description("RFC 6749 §4.1.2 / issue 14 review: a used code long expired, whose access token has expired but whose refresh family " +
                       "lives, is kept by a sweep; its replay still revokes the family")]
    public async Task Rfc6749_4_1_2_Sweep_KeepsAnExpiredCodeWhoseFamilyLives_AndItsReplayRevokesIt()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect, "openid offline_access");
        var code = await browser.CodeAsync(request, user);
        var refresh = AuthlyApp.Str(await browser.ExchangeAsync(request, code), "refresh_token");
        await browser.ExecuteSqlAsync("""
            UPDATE authorization_codes SET expires_at = now() - interval '1 hour', access_expires_at = now() - interval '1 minute' WHERE user_id = @Id;
            UPDATE refresh_token_families SET created_at = now() - interval '400 days' WHERE user_id = @Id;
            UPDATE refresh_tokens SET access_expires_at = now() - interval '1 minute' WHERE user_id = @Id
            """, new { user.Id });

        await SweepAsync();

        Assert.That(await browser.ScalarAsync<long>("SELECT count(*) FROM authorization_codes WHERE user_id = @Id", new { user.Id }), Is.EqualTo(1));
        await OAuthAssert.ErrorAsync(await browser.ExchangeRawAsync(request.ClientId, code, request.RedirectUri, request.Verifier),
            HttpStatusCode.BadRequest, "invalid_grant");
        await OAuthAssert.ErrorAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", _clientId)),
            HttpStatusCode.BadRequest, "invalid_grant");
    }
}

/// <summary>
/// Issue 14 review: a rotation and a redemption now hold one pooled connection for their whole transaction. Whatever they
/// need besides it while holding it (a cache load, a revocation) must not wait for a second connection of a pool that
/// the same burst has exhausted: the losers of a burst on one credential hold their connections while they wait for the
/// winner's row lock, so a winner waiting for a connection waits for the pool's timeout and fails everyone.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class Issue14ReviewPoolAttacks
{
    private const int Pool = 4, Burst = 10;
    private const string Redirect = "https://rp.example/cb";
    private AuthlyApp _app = null!;
    private string _clientId = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var cs = await TestServers.CreateDatabaseAsync();
        _app = await AuthlyApp.StartOnDatabaseAsync(cs, new Dictionary<string, string?> { ["DATABASE_URL"] = cs + $";Maximum Pool Size={Pool}" });
        _clientId = await BrowserFlow.CreatePublicClientAsync(_app, [Redirect]);
    }

    [OneTimeTearDown]
    public void Stop() => _app?.Dispose();

    // A scope change drops the active-scope set on this node: the next grant that needs it loads it from the database.
    private async Task ChangeAScopeAsync()
    {
        var admin = await _app.AdminClientAsync("admin:scopes:write");
        var created = await admin.PostAsJsonAsync("/admin/scopes", new { scope_name = "s" + Guid.NewGuid().ToString("N")[..8], description = "new" });
        Assert.That((int)created.StatusCode, Is.InRange(200, 201), await created.Content.ReadAsStringAsync());
    }

    [Test, Description("RFC 6749 §4.1.2, issue 14 review: a burst of redemptions of one code larger than the pool, right after a scope change: " +
                       "exactly one is served, every other is a replay, none is a pool timeout")]
    public async Task Rfc6749_4_1_2_BurstOnOneCode_LargerThanThePool_DoesNotStarveIt()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect, "openid offline_access");
        var code = await browser.CodeAsync(request, user);
        await ChangeAScopeAsync();

        var answers = await Task.WhenAll(Enumerable.Range(0, Burst).Select(_ => browser.ExchangeRawAsync(request.ClientId, code, request.RedirectUri, request.Verifier)));

        var statuses = string.Join(",", answers.Select(a => (int)a.StatusCode));
        Assert.That(answers.Count(a => a.StatusCode == HttpStatusCode.OK), Is.EqualTo(1), statuses);
        Assert.That(answers.Count(a => a.StatusCode == HttpStatusCode.BadRequest), Is.EqualTo(Burst - 1), statuses);
    }

    [Test, Description("RFC 9700 §4.14.2, issue 14 review: a burst of refreshes of one token larger than the pool, right after a scope change: " +
                       "exactly one rotates, every other is reuse, none is a pool timeout")]
    public async Task Rfc9700_4_14_2_BurstOnOneRefreshToken_LargerThanThePool_DoesNotStarveIt()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect, "openid offline_access");
        var refresh = AuthlyApp.Str(await browser.TokensAsync(request, user), "refresh_token");
        await ChangeAScopeAsync();

        var answers = await Task.WhenAll(Enumerable.Range(0, Burst).Select(_ =>
            _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", _clientId))));

        var statuses = string.Join(",", answers.Select(a => (int)a.StatusCode));
        Assert.That(answers.Count(a => a.StatusCode == HttpStatusCode.OK), Is.InRange(1, Burst), statuses);
        Assert.That(answers.All(a => (int)a.StatusCode < 500), Is.True, statuses);
    }
}

/// <summary>Issue 14 review: the access log's background writer, on a real `authly serve` with plain-text logs (the queued path).</summary>
[TestFixture, Category("Attacks")]
public sealed class Issue14ReviewAccessLogAttacks
{
    [Test, Description("Issue 14 review / API.md access log: a burst of requests with secrets in their query strings: every request gets its " +
                       "line (none lost to the queue), each line carries the path only, and an encoded line break cannot forge a line")]
    public async Task Issue14_QueuedAccessLog_LosesNoLine_LogsThePathOnly_AndCannotBeForged()
    {
        var url = DatabaseServer.Url(await TestServers.CreateDatabaseAsync());
        var port = AuthlyCli.FreePort();
        var psi = new AuthlyCli($"http://127.0.0.1:{port}").StartInfo(new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = url, ["REDIS_URL"] = null, ["AUTHLY_MODE"] = "testing", ["AUTHLY_ADMIN_PASSWORD"] = "Admin-Password-123",
            ["AUTHLY_ARGON2_OPSLIMIT"] = "1", ["AUTHLY_ARGON2_MEMLIMIT_KIB"] = "8192", ["LOG_LEVEL"] = "Warning", ["AUTHLY_ACCESS_LOG"] = null,
        }, ["serve", "--port", port.ToString()]);
        using var process = Process.Start(psi)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.Append(e.Data).Append('\n'); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.Append(e.Data).Append('\n'); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        string Output() { lock (output) return output.ToString(); }
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            Assert.That(await Eventually.TrueAsync(async () =>
            {
                try { return (await http.GetAsync("/health/live")).IsSuccessStatusCode; }
                catch (HttpRequestException) { return false; }
            }, TimeSpan.FromSeconds(60)), Is.True, Output());

            const int burst = 300;
            var marker = Guid.NewGuid().ToString("N")[..8];
            await Task.WhenAll(Enumerable.Range(0, burst).Select(i => http.GetAsync($"/no-such-{marker}-{i}?code=secret-{marker}-{i}")));
            await http.GetAsync($"/forge-{marker}%0D%0AGET%20/forged-{marker}%20200");

            Assert.That(await Eventually.TrueAsync(() => Task.FromResult(
                Enumerable.Range(0, burst).All(i => Output().Contains($"/no-such-{marker}-{i} 404"))), TimeSpan.FromSeconds(30)), Is.True,
                "a line is missing:\n" + Output());
            var lines = Output().Split('\n');
            Assert.That(lines.Count(l => l.Contains($"/no-such-{marker}-")), Is.EqualTo(burst), "one line per request");
            Assert.That(Output(), Does.Not.Contain($"secret-{marker}"), "the path only: query strings carry codes and tokens");
            Assert.That(await Eventually.TrueAsync(() => Task.FromResult(Output().Contains($"/forge-{marker}")), TimeSpan.FromSeconds(30)), Is.True, Output());
            Assert.That(lines.Concat(Output().Split('\n')).Where(l => l.Contains($"/forged-{marker}")).All(l => l.Contains("Authly.AccessLog")), Is.True,
                "an encoded CR/LF in the path started a line of its own:\n" + Output());
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }
}
