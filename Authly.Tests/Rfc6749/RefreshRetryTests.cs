using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Security;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc6749;

/// <summary>
/// Issue 12 finding 5: a refresh (RFC 6749 §6, OAuth 2.1 §4.3.1 rotation) is one transaction and retry-safe.
/// Two in-process apps share one database, as two nodes do.
/// </summary>
[TestFixture, Category("RFC6749")]
public sealed class RefreshRetryTests : AppFixture
{
    private AuthlyApp _node2 = null!;
    private AuthlyApp.TestUser _user = null!;
    private (string Id, string Secret) _client;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _node2 = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["DATABASE_URL"] = _app.DatabaseConnectionString });
        _user = await _app.CreateUserAsync();
        var c = await _app.CreateConfidentialClientAsync(scope: "read write", grants: ["password", "refresh_token"]);
        _client = (c.Id, c.Secret!);
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _node2.Dispose();
    }

    private AuthenticationHeaderValue Basic => AuthlyApp.Basic(_client.Id, _client.Secret);

    private async Task<(string Access, string Refresh)> LoginAsync()
    {
        var body = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, Basic,
            ("grant_type", "password"), ("username", _user.Username), ("password", _user.Password), ("scope", "read write")));
        return (AuthlyApp.Str(body, "access_token"), AuthlyApp.Str(body, "refresh_token"));
    }

    private Task<HttpResponseMessage> RefreshAsync(string refreshToken, AuthlyApp? on = null) =>
        (on ?? _app).PostFormAsync(TokenPath, Basic, ("grant_type", "refresh_token"), ("refresh_token", refreshToken));

    private async Task<bool> IsActiveAsync(string token, AuthlyApp? on = null) =>
        (await AuthlyApp.JsonAsync(await (on ?? _app).PostFormAsync("/api/v1/oauth/introspect", ("token", token))))["active"]!.GetValue<bool>();

    private Task<long> FamilySizeAsync(string refreshToken) => _app.SqlScalarAsync<long>("""
        SELECT count(*) FROM refresh_tokens WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = @Hash)
        """, new { Hash = OpaqueToken.Hash(refreshToken) });

    private Task<bool> FamilyRevokedAsync(string refreshToken) => _app.SqlScalarAsync<bool>("""
        SELECT f.revoked_at IS NOT NULL FROM refresh_token_families f JOIN refresh_tokens t ON t.family_id = f.id WHERE t.token_hash = @Hash
        """, new { Hash = OpaqueToken.Hash(refreshToken) });

    private static string JtiOf(string jwt) =>
        JsonNode.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(jwt.Split('.')[1]))!["jti"]!.GetValue<string>();

    [Test, Description("OAuth 2.1 §4.3.1; Issue12_Finding5: a retry of the token just rotated, within the window, gets the same answer")]
    public async Task Refresh_RetriedWithinGraceWindow_ReturnsTheSameAnswerAndKeepsTheFamily()
    {
        var (_, refresh0) = await LoginAsync();
        var first = await OAuthAssert.TokenAsync(await RefreshAsync(refresh0));
        var retry = await OAuthAssert.TokenAsync(await RefreshAsync(refresh0, on: _node2));
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(retry, "access_token"), Is.EqualTo(AuthlyApp.Str(first, "access_token")));
            Assert.That(AuthlyApp.Str(retry, "refresh_token"), Is.EqualTo(AuthlyApp.Str(first, "refresh_token")));
            Assert.That(AuthlyApp.Str(retry, "scope"), Is.EqualTo(AuthlyApp.Str(first, "scope")));
        });
        Assert.That(await FamilyRevokedAsync(refresh0), Is.False);
        Assert.That(await IsActiveAsync(AuthlyApp.Str(first, "access_token")), Is.True);
        var next = await OAuthAssert.TokenAsync(await RefreshAsync(AuthlyApp.Str(first, "refresh_token")));
        Assert.That(AuthlyApp.Str(next, "refresh_token"), Is.Not.EqualTo(AuthlyApp.Str(first, "refresh_token")));
    }

    [Test, Description("RFC 9700 §4.14.2: after the window a rotated token is reuse, as before; the window is measured on the database clock")]
    public async Task Refresh_RetriedAfterGraceWindow_RevokesTheFamily()
    {
        var (access0, refresh0) = await LoginAsync();
        var first = await OAuthAssert.TokenAsync(await RefreshAsync(refresh0));
        await _app.SqlScalarAsync<int>("UPDATE refresh_tokens SET rotated_at = now() - interval '11 s' WHERE token_hash = @Hash RETURNING 1",
            new { Hash = OpaqueToken.Hash(refresh0) });
        await OAuthAssert.ErrorAsync(await RefreshAsync(refresh0), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await FamilyRevokedAsync(refresh0), Is.True);
        foreach (var token in new[] { access0, AuthlyApp.Str(first, "access_token"), AuthlyApp.Str(first, "refresh_token") })
            Assert.That(await IsActiveAsync(token), Is.False);
    }

    [Test, Description("RFC 9700 §4.14.2: only the latest rotation may be retried; an older token is reuse even within the window")]
    public async Task Refresh_OfTokenWhoseSuccessorWasUsed_IsReuseEvenWithinTheWindow()
    {
        var (_, refresh0) = await LoginAsync();
        var first = await OAuthAssert.TokenAsync(await RefreshAsync(refresh0));
        var second = await OAuthAssert.TokenAsync(await RefreshAsync(AuthlyApp.Str(first, "refresh_token")));
        await OAuthAssert.ErrorAsync(await RefreshAsync(refresh0), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await IsActiveAsync(AuthlyApp.Str(second, "access_token")), Is.False);
        Assert.That(await IsActiveAsync(AuthlyApp.Str(second, "refresh_token")), Is.False);
    }

    [Test, Description("OAuth 2.1 §4.3.1; Issue12_Finding5: 20 parallel refreshes of one token on two nodes rotate it exactly once and burn nothing")]
    public async Task Refresh_TwentyInParallelOnTwoNodes_RotatesOnceAndAnswersAlike()
    {
        var (_, refresh0) = await LoginAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => RefreshAsync(refresh0, on: i % 2 == 0 ? _app : _node2)));
        var bodies = new List<JsonObject>();
        foreach (var r in responses) bodies.Add(await OAuthAssert.TokenAsync(r));
        Assert.That(bodies.Select(b => AuthlyApp.Str(b, "refresh_token")).Distinct().Count(), Is.EqualTo(1), "one rotation, one answer");
        Assert.That(bodies.Select(b => AuthlyApp.Str(b, "access_token")).Distinct().Count(), Is.EqualTo(1));
        Assert.That(await FamilySizeAsync(refresh0), Is.EqualTo(2), "the login's token and exactly one successor");
        Assert.That(await FamilyRevokedAsync(refresh0), Is.False);
        await OAuthAssert.TokenAsync(await RefreshAsync(AuthlyApp.Str(bodies[0], "refresh_token"), on: _node2));
    }

    [Test, Description("Issue12_Finding5: a refresh racing a family revocation (RFC 7009) never leaves the access token it issued active")]
    public async Task Refresh_ParallelWithFamilyRevocation_LeavesNoIssuedAccessTokenActive()
    {
        var refreshWon = 0;
        for (var trial = 0; trial < 20; trial++)
        {
            var (_, refresh0) = await LoginAsync();
            var refreshing = RefreshAsync(refresh0, on: _app);
            var revoking = _node2.PostFormAsync("/api/v1/oauth/revoke", Basic, ("token", refresh0), ("token_type_hint", "refresh_token"));
            var (refreshed, revoked) = (await refreshing, await revoking);
            Assert.That(revoked.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"trial {trial}");
            if (refreshed.StatusCode != HttpStatusCode.OK)
            {
                await OAuthAssert.ErrorAsync(refreshed, HttpStatusCode.BadRequest, "invalid_grant");
                continue;
            }
            refreshWon++;
            var access = AuthlyApp.Str(await AuthlyApp.JsonAsync(refreshed), "access_token");
            Assert.That(await _app.SqlScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = @Jti)", new { Jti = JtiOf(access) }),
                Is.True, $"trial {trial}: the refresh's access token is not in revoked_tokens");
            Assert.That(await IsActiveAsync(access, on: _node2), Is.False, $"trial {trial}: active on the revoking node");
        }
        TestContext.Out.WriteLine($"the refresh answered 200 in {refreshWon} of 20 trials");
    }

    [Test, Description("Issue12_Finding5: a refresh that fails half-way (after rotating, at the successor's insert) changes nothing")]
    public async Task Refresh_FailingHalfWay_RotatesNothing()
    {
        var user = await _app.CreateUserAsync();
        var login = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, Basic,
            ("grant_type", "password"), ("username", user.Username), ("password", user.Password), ("scope", "read")));
        var refresh0 = AuthlyApp.Str(login, "refresh_token");
        var name = "fail_successor_" + user.Id.ToString("N");
        // A failing trigger on the successor's row only (this user, a family that already has a token): the rotation
        // UPDATE has run by then. The names and the id are generated here, not input.
        await _app.SqlScalarAsync<int>($$"""
            CREATE FUNCTION {{name}}() RETURNS trigger LANGUAGE plpgsql AS $f$
            BEGIN
                IF NEW.user_id = '{{user.Id}}' AND EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = NEW.family_id) THEN
                    RAISE EXCEPTION 'injected failure';
                END IF;
                RETURN NEW;
            END $f$;
            CREATE TRIGGER {{name}} BEFORE INSERT ON refresh_tokens FOR EACH ROW EXECUTE FUNCTION {{name}}();
            SELECT 1;
            """);
        try
        {
            var failed = await RefreshAsync(refresh0);
            Assert.That((int)failed.StatusCode, Is.GreaterThanOrEqualTo(500), await failed.Content.ReadAsStringAsync());
            Assert.That(await _app.SqlScalarAsync<bool>("SELECT rotated_at IS NULL FROM refresh_tokens WHERE token_hash = @Hash",
                new { Hash = OpaqueToken.Hash(refresh0) }), Is.True, "the rotation was rolled back");
            Assert.That(await FamilySizeAsync(refresh0), Is.EqualTo(1));
            Assert.That(await IsActiveAsync(refresh0), Is.True);
        }
        finally
        {
            await _app.SqlScalarAsync<int>($"DROP TRIGGER {name} ON refresh_tokens; DROP FUNCTION {name}(); SELECT 1;");
        }
        // The client's retry finds its token current: a normal refresh, not reuse.
        var retried = await OAuthAssert.TokenAsync(await RefreshAsync(refresh0));
        Assert.That(await IsActiveAsync(AuthlyApp.Str(retried, "access_token")), Is.True);
        Assert.That(await FamilyRevokedAsync(refresh0), Is.False);
    }

    [Test, Description("Issue12 'clock tolerance': refresh expiry is set and checked on the database clock, so a node whose clock runs ahead agrees")]
    public async Task Refresh_OnNodeWhoseClockRunsAhead_SetsAndChecksExpiryOnTheDatabaseClock()
    {
        using var ahead = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["DATABASE_URL"] = _app.DatabaseConnectionString },
            clock: new TestClock(DateTimeOffset.UtcNow.AddHours(2)));
        var login = await OAuthAssert.TokenAsync(await ahead.PostFormAsync(TokenPath, Basic,
            ("grant_type", "password"), ("username", _user.Username), ("password", _user.Password), ("scope", "read")));
        var refresh0 = AuthlyApp.Str(login, "refresh_token");
        var lifetime = await _app.SqlScalarAsync<double>("SELECT extract(epoch FROM expires_at - issued_at) FROM refresh_tokens WHERE token_hash = @Hash",
            new { Hash = OpaqueToken.Hash(refresh0) });
        Assert.That(lifetime, Is.EqualTo(TimeSpan.FromDays(7).TotalSeconds).Within(5.0), "expires_at = the database's now() + 7 days");

        // 30 minutes left by the database clock: current for every node, whatever its own clock says.
        await _app.SqlScalarAsync<int>("UPDATE refresh_tokens SET expires_at = now() + interval '30 minutes' WHERE token_hash = @Hash RETURNING 1",
            new { Hash = OpaqueToken.Hash(refresh0) });
        await OAuthAssert.TokenAsync(await ahead.PostFormAsync(TokenPath, Basic, ("grant_type", "refresh_token"), ("refresh_token", refresh0)));
    }

    [Test, Description("AUTHLY_REFRESH_RETRY_GRACE_SECONDS=0 turns the window off: the first retry is reuse and nothing is sealed")]
    public async Task Refresh_WithGraceWindowOff_TreatsTheRetryAsReuse()
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["AUTHLY_REFRESH_RETRY_GRACE_SECONDS"] = "0" });
        var user = await app.CreateUserAsync();
        var login = await app.PasswordTokenAsync(user.Username, user.Password);
        var refresh0 = AuthlyApp.Str(login, "refresh_token");
        var first = await OAuthAssert.TokenAsync(await app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh0)));
        Assert.That(await app.SqlScalarAsync<long>("SELECT count(*) FROM refresh_tokens WHERE retry_response IS NOT NULL"), Is.Zero);
        await OAuthAssert.ErrorAsync(await app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh0)),
            HttpStatusCode.BadRequest, "invalid_grant");
        var introspection = await AuthlyApp.JsonAsync(await app.PostFormAsync("/api/v1/oauth/introspect", ("token", AuthlyApp.Str(first, "access_token"))));
        Assert.That(introspection["active"]!.GetValue<bool>(), Is.False);
    }
}
