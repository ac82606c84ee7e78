using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Authly.Security;
using Authly.Tests.Infrastructure;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Tests.Rfc7009;

/// <summary>
/// Issue 12 finding 1: revoking a refresh token family (RFC 7009 §2.1, admin "end sessions", reuse) is complete
/// when it commits to PostgreSQL: the family and every live access token issued from it, in one transaction.
/// Publishing to other nodes is best effort; their periodic re-read covers a lost message.
/// </summary>
[TestFixture, Category("RFC7009")]
public sealed class RevocationCompletenessTests : AppFixture
{
    private AuthlyApp _noRedis = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        // A second node on the same database whose Redis is unreachable: nothing listens on that port.
        _noRedis = await AuthlyApp.StartAsync(new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = _app.DatabaseConnectionString, ["REDIS_URL"] = $"redis://127.0.0.1:{ClosedPort()}",
        });
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _noRedis.Dispose();
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>A first-party login refreshed twice: three live access tokens in one family, and the current refresh token.</summary>
    private async Task<(AuthlyApp.TestUser User, string[] Access, string Refresh)> FamilyOfThreeAsync()
    {
        var user = await _app.CreateUserAsync();
        var login = await _app.PasswordTokenAsync(user.Username, user.Password);
        var access = new List<string> { AuthlyApp.Str(login, "access_token") };
        var refresh = AuthlyApp.Str(login, "refresh_token");
        for (var i = 0; i < 2; i++)
        {
            var body = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh)));
            access.Add(AuthlyApp.Str(body, "access_token"));
            refresh = AuthlyApp.Str(body, "refresh_token");
        }
        return (user, access.ToArray(), refresh);
    }

    private static async Task<bool> IsActiveAsync(AuthlyApp on, string token) =>
        (await AuthlyApp.JsonAsync(await on.PostFormAsync("/api/v1/oauth/introspect", ("token", token))))["active"]!.GetValue<bool>();

    private static string JtiOf(string jwt) => JsonNode.Parse(Base64UrlEncoder.Decode(jwt.Split('.')[1]))!["jti"]!.GetValue<string>();

    private Task<long> RecordedAsync(IEnumerable<string> access) =>
        _app.SqlScalarAsync<long>("SELECT count(*) FROM revoked_tokens WHERE jti = ANY(@Jtis)", new { Jtis = access.Select(JtiOf).ToArray() });

    private Task<bool> FamilyRevokedAsync(string refresh) => _app.SqlScalarAsync<bool>("""
        SELECT f.revoked_at IS NOT NULL FROM refresh_token_families f JOIN refresh_tokens t ON t.family_id = f.id WHERE t.token_hash = @Hash
        """, new { Hash = OpaqueToken.Hash(refresh) });

    private static Task<HttpResponseMessage> RevokeAsync(AuthlyApp on, string token) =>
        on.PostFormAsync("/api/v1/oauth/revoke", ("token", token), ("token_type_hint", "refresh_token"));

    [Test, Description("RFC 7009 §2.1; Issue12_Finding1: with Redis unreachable the revocation still answers 200 and holds on every node")]
    public async Task Revoke_WithRedisUnreachable_Returns200AndEveryAccessTokenIsInactiveOnBothNodes()
    {
        var (_, access, refresh) = await FamilyOfThreeAsync();
        var response = await RevokeAsync(_noRedis, refresh);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());

        Assert.That(await RecordedAsync(access), Is.EqualTo(3), "every access token of the family is in revoked_tokens");
        foreach (var token in access)
            Assert.That(await IsActiveAsync(_noRedis, token), Is.False, "inactive at once on the node that revoked");
        // The other node never hears the announcement (it went nowhere); its periodic re-read finds the rows.
        foreach (var token in access)
            Assert.That(await Eventually.TrueAsync(async () => !await IsActiveAsync(_app, token), TimeSpan.FromSeconds(20)), Is.True,
                "inactive on the other node within its re-read interval");
        Assert.That(await IsActiveAsync(_app, refresh), Is.False);
    }

    [Test, Description("Issue12_Finding1: a retried admin 'end sessions + revoke tokens' completes a revocation an earlier call left half-done")]
    public async Task EndSessions_OfUserWhoseFamilyWasRevokedHalfway_RevokesItsAccessTokens()
    {
        var (user, access, _) = await FamilyOfThreeAsync();
        // The state an interrupted revocation left before issue 12: the family marked, its access tokens not recorded.
        await _app.SqlScalarAsync<int>("UPDATE refresh_token_families SET revoked_at = now(), revoked_reason = 'interrupted' WHERE user_id = @Id RETURNING 1",
            new { user.Id });
        Assert.That(await IsActiveAsync(_app, access[0]), Is.True, "precondition: the half-done revocation left access tokens active");

        var http = _app.BearerClient(await _app.AdminTokenAsync("admin:users:write"));
        var response = await http.DeleteAsync($"/admin/users/{user.Id}/sessions");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());

        Assert.That(await RecordedAsync(access), Is.EqualTo(3));
        foreach (var token in access) Assert.That(await IsActiveAsync(_app, token), Is.False);
    }

    [Test, Description("RFC 7009 §2.1; Issue12_Finding1: revoking a family revoked before still records all its access tokens (idempotent)")]
    public async Task Revoke_OfFamilyRevokedHalfway_CompletesIt()
    {
        var (_, access, refresh) = await FamilyOfThreeAsync();
        await _app.SqlScalarAsync<int>("""
            UPDATE refresh_token_families SET revoked_at = now() WHERE id = (SELECT family_id FROM refresh_tokens WHERE token_hash = @Hash) RETURNING 1
            """, new { Hash = OpaqueToken.Hash(refresh) });
        Assert.That((await RevokeAsync(_app, refresh)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await RecordedAsync(access), Is.EqualTo(3));
        foreach (var token in access) Assert.That(await IsActiveAsync(_app, token), Is.False);
    }

    [Test, Description("Issue12_Finding1: a revocation that fails half-way changes nothing and is not reported as done; the retry completes it")]
    public async Task Revoke_FailingHalfWay_ChangesNothingAndTheRetryCompletesIt()
    {
        var (_, access, refresh) = await FamilyOfThreeAsync();
        var name = "fail_revoke_" + Guid.NewGuid().ToString("N");
        var jtis = string.Join(",", access.Select(a => $"'{JtiOf(a)}'")); // generated base64url ids: no quotes inside
        // Fails the insert of this family's access tokens into revoked_tokens, after the family row was marked.
        await _app.SqlScalarAsync<int>($$"""
            CREATE FUNCTION {{name}}() RETURNS trigger LANGUAGE plpgsql AS $f$
            BEGIN
                IF NEW.jti IN ({{jtis}}) THEN RAISE EXCEPTION 'injected failure'; END IF;
                RETURN NEW;
            END $f$;
            CREATE TRIGGER {{name}} BEFORE INSERT ON revoked_tokens FOR EACH ROW EXECUTE FUNCTION {{name}}();
            SELECT 1;
            """);
        try
        {
            var failed = await RevokeAsync(_app, refresh);
            Assert.That((int)failed.StatusCode, Is.GreaterThanOrEqualTo(500), "a failed revocation is never reported as success");
            Assert.That(await FamilyRevokedAsync(refresh), Is.False, "the family mark was rolled back with the rest");
            Assert.That(await RecordedAsync(access), Is.Zero);
        }
        finally
        {
            await _app.SqlScalarAsync<int>($"DROP TRIGGER {name} ON revoked_tokens; DROP FUNCTION {name}(); SELECT 1;");
        }
        Assert.That((await RevokeAsync(_app, refresh)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await FamilyRevokedAsync(refresh), Is.True);
        foreach (var token in access) Assert.That(await IsActiveAsync(_app, token), Is.False);
    }
}
