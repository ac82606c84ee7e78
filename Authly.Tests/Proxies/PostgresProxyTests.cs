using Microsoft.Extensions.Logging;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Proxy;
using Authly.Server.Proxy;
using Authly.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Authly.Tests.Proxies;

/// <summary>POST /query end to end: a real Authly, the proxy over HTTP, a real PostgreSQL with the example RLS policy.</summary>
[TestFixture]
public sealed class PostgresProxyTests
{
    private ProxyFixture _f = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _f = await ProxyFixture.StartAsync(redis: false);

    [OneTimeTearDown]
    public async Task StopAsync() => await _f.DisposeAsync();

    private static string Str(JsonObject o, string key) => AuthlyApp.Str(o, key);

    // ---- RFC 6750: the bearer token and its errors ----

    [Test]
    public async Task Rfc6750_3_1_NoAuthorizationHeader_Is401WithChallengeButNoErrorCode()
    {
        var response = await _f.QueryAsync(null, "SELECT 1");
        var body = await ProxyFixture.ExpectAsync(response, 401);
        Assert.That(Str(body, "error"), Is.EqualTo("Missing or invalid Authorization header"));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer realm=\"authly-proxy\""));
    }

    [Test]
    public async Task Rfc6750_3_1_AnotherScheme_Is401WithChallengeButNoErrorCode()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _f.Postgres!.Url + "/query")
        {
            Content = new StringContent("{\"query\":\"SELECT 1\"}", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Basic dXNlcjpwYXNz");
        var response = await _f.SendAsync(request);
        var body = await ProxyFixture.ExpectAsync(response, 401);
        Assert.That(Str(body, "error"), Is.EqualTo("Missing or invalid Authorization header"));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer realm=\"authly-proxy\""));
    }

    [TestCase("Bearer")]
    [TestCase("Bearer two words")]
    [TestCase("Bearer bad\"quote")]
    public async Task Rfc6750_2_1_MalformedAuthorizationHeader_Is401InvalidRequest(string header)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _f.Postgres!.Url + "/query")
        {
            Content = new StringContent("{\"query\":\"SELECT 1\"}", Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", header);
        var response = await _f.SendAsync(request);
        var body = await ProxyFixture.ExpectAsync(response, 401);
        Assert.That(Str(body, "error"), Is.EqualTo("Missing or invalid Authorization header"));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("error=\"invalid_request\""));
    }

    [TestCase("not-a-token")]
    [TestCase("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")]
    public async Task Rfc6750_3_1_UnknownToken_Is401InvalidToken(string token)
    {
        var response = await _f.QueryAsync(token, "SELECT 1");
        var body = await ProxyFixture.ExpectAsync(response, 401);
        Assert.That(Str(body, "error"), Is.EqualTo("Invalid or expired token"));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("error=\"invalid_token\""));
    }

    [Test]
    public async Task ExpiredToken_IsRefused()
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT 1 AS one"), 200);
        var clock = new TestClock(DateTimeOffset.UtcNow.AddHours(2));
        await using var later = await ProxyServer.StartAsync("postgres", new ProxyOptions
        {
            AuthlyUrl = AuthlyApp.Issuer, DatabaseUrl = _f.ProxyDatabase, DatabaseRole = ProxyRoles.Role,
        }, _f.Authly.CreateClient(), clock, LogLevel.Warning);
        var response = await _f.PostAsync(later.Url + "/query", token, new JsonObject { ["query"] = "SELECT 1" });
        var body = await ProxyFixture.ExpectAsync(response, 401);
        Assert.That(Str(body, "error"), Is.EqualTo("Invalid or expired token"));
    }

    [Test]
    public async Task RevokedToken_IsRefusedWithinASecond()
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT 1"), 200);
        var revoked = await _f.RevokeAsync(token);
        Assert.That((int)revoked.StatusCode, Is.EqualTo(200));
        _f.Clock.Advance(ProxyTokenValidator.PositiveCacheFor + TimeSpan.FromMilliseconds(1));
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT 1"), 401);
    }

    [Test]
    public async Task RotatedSigningKey_TokensFromTheNewKeyAreAccepted()
    {
        var (user, before) = await _f.UserTokenAsync("database:read");
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(before, "SELECT 1"), 200);
        var admin = _f.Authly.BearerClient(await _f.Authly.AdminTokenAsync("admin:system:write"));
        Assert.That((int)(await admin.PostAsync("/admin/keys/rotate", null)).StatusCode, Is.EqualTo(200));
        // The proxy refetches the JWKS for an unknown kid at most every 10 s; move past that.
        _f.Clock.Advance(ProxyTokenValidator.JwksRefetchAtMost + TimeSpan.FromSeconds(1));
        var after = await _f.TokenAsync(user, "database:read");
        Assert.That(Kid(after), Is.Not.EqualTo(Kid(before)));
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(after, "SELECT 1"), 200);
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(before, "SELECT 1"), 200);
    }

    private static string Kid(string jwt) =>
        JsonNode.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(Pad(jwt.Split('.')[0]))))!["kid"]!.GetValue<string>();

    private static string Pad(string s) => s.Replace('-', '+').Replace('_', '/') + new string('=', (4 - s.Length % 4) % 4);

    // ---- scopes decided by the statement ----

    [Test]
    public async Task Read_WithDatabaseRead_ReturnsRowsWithBoundParameters()
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token,
            "SELECT $1::int + 1 AS n, $2 AS s, $3::boolean AS b, NULL AS nothing, 'x''; DROP TABLE notes; --' AS quoted", 41, "text ' with quote", true), 200);
        Assert.That(body["row_count"]!.GetValue<int>(), Is.EqualTo(1));
        var row = body["data"]![0]!.AsObject();
        Assert.That(row["n"]!.GetValue<decimal>(), Is.EqualTo(42));
        Assert.That(Str(row, "s"), Is.EqualTo("text ' with quote"));
        Assert.That(row["b"]!.GetValue<bool>(), Is.True);
        Assert.That(row["nothing"], Is.Null);
        Assert.That(await _f.TargetScalarAsync<bool>("SELECT to_regclass('notes') IS NOT NULL"), Is.True);
    }

    [Test]
    public async Task ParameterIsNeverSpliced_EvenWhenItLooksLikeSql()
    {
        var (_, token) = await _f.UserTokenAsync("database:read database:write");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT count(*) AS n FROM notes WHERE body = $1", "x' OR '1'='1"), 200);
        Assert.That(body["data"]![0]!["n"]!.GetValue<decimal>(), Is.EqualTo(0));
    }

    [Test]
    public async Task Write_WithoutDatabaseWrite_Is403AndChangesNothing()
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        var before = await _f.TargetScalarAsync<long>("SELECT count(*) FROM notes");
        var response = await _f.QueryAsync(token, "INSERT INTO notes (body) VALUES ($1)", "sneaky");
        var body = await ProxyFixture.ExpectAsync(response, 403);
        Assert.That(Str(body, "error"), Does.StartWith("Insufficient scope: database:write is required"));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("error=\"insufficient_scope\"").And.Contain("scope=\"database:write\""));
        Assert.That(await _f.TargetScalarAsync<long>("SELECT count(*) FROM notes"), Is.EqualTo(before));
    }

    [Test]
    public async Task Read_WithoutDatabaseRead_Is403()
    {
        var (_, token) = await _f.UserTokenAsync("database:write");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT updated_at FROM (SELECT now() AS updated_at) t"), 403);
        Assert.That(Str(body, "error"), Does.StartWith("Insufficient scope: database:read is required"));
    }

    [Test]
    public async Task Write_WithDatabaseWrite_ReportsAffectedRows()
    {
        var (_, token) = await _f.UserTokenAsync("database:write");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "INSERT INTO notes (body) VALUES ($1), ($2)", "one", "two"), 200);
        Assert.That(Str(body, "message"), Is.EqualTo("Query executed successfully"));
        Assert.That(body["affected_rows"]!.GetValue<long>(), Is.EqualTo(2));
    }

    [TestCase("SELECT 1 FROM notes FOR UPDATE")]
    [TestCase("WITH gone AS (DELETE FROM notes RETURNING *) SELECT * FROM gone")]
    [TestCase("SELECT nextval('notes_id_seq')")]
    public async Task ReadLookingWrites_NeedDatabaseWrite(string sql)
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, sql), 403);
    }

    [TestCase("DROP TABLE notes")]
    [TestCase("CREATE TABLE evil (id int)")]
    [TestCase("TRUNCATE notes")]
    [TestCase("SET ROLE postgres")]
    [TestCase("RESET ROLE")]
    [TestCase("SELECT set_config('authly.user_id', 'someone-else', true)")]
    [TestCase("SELECT pg_read_file('/etc/passwd')")]
    [TestCase("SELECT lo_import('/etc/passwd')")]
    [TestCase("COPY notes FROM PROGRAM 'id'")]
    [TestCase("COPY notes TO '/tmp/notes.csv'")]
    [TestCase("BEGIN")]
    [TestCase("COMMIT")]
    [TestCase("DO $$ BEGIN PERFORM 1; END $$")]
    [TestCase("SELECT * INTO copied FROM notes")]
    [TestCase("GRANT ALL ON notes TO PUBLIC")]
    public async Task AdminStatements_AreRefusedEvenWithReadAndWrite(string sql)
    {
        var (_, token) = await _f.UserTokenAsync("database:read database:write");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, sql), 403);
        Assert.That(Str(body, "error"), Does.StartWith("Statement not allowed through the proxy"));
        Assert.That(await _f.TargetScalarAsync<bool>("SELECT to_regclass('notes') IS NOT NULL AND to_regclass('evil') IS NULL AND to_regclass('copied') IS NULL"), Is.True);
    }

    [TestCase("SELECT 1; DELETE FROM notes")]
    [TestCase("SELECT 1; SELECT 2")]
    public async Task SecondStatement_IsRefusedAndNothingRuns(string sql)
    {
        var (_, token) = await _f.UserTokenAsync("database:read database:write");
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "INSERT INTO notes (body) VALUES ('kept')"), 200);
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, sql), 400);
        Assert.That(Str(body, "error"), Does.Contain("one statement"));
        var count = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT count(*) AS n FROM notes"), 200);
        Assert.That(count["data"]![0]!["n"]!.GetValue<decimal>(), Is.EqualTo(1));
    }

    // ---- row-level security through the authly.* settings ----

    [Test]
    public async Task RowLevelSecurity_OneUserCannotReadOrChangeAnothersRows()
    {
        var (alice, aliceToken) = await _f.UserTokenAsync("database:read database:write");
        var (bob, bobToken) = await _f.UserTokenAsync("database:read database:write");
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(aliceToken, "INSERT INTO notes (body) VALUES ($1)", "alice's secret"), 200);

        var mine = await ProxyFixture.ExpectAsync(await _f.QueryAsync(aliceToken, "SELECT owner_id, body FROM notes"), 200);
        Assert.That(mine["row_count"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(Str(mine["data"]![0]!.AsObject(), "owner_id"), Is.EqualTo(alice.Id.ToString()));

        var theirs = await ProxyFixture.ExpectAsync(await _f.QueryAsync(bobToken, "SELECT body FROM notes WHERE body = $1", "alice's secret"), 200);
        Assert.That(theirs["row_count"]!.GetValue<int>(), Is.EqualTo(0));
        var update = await ProxyFixture.ExpectAsync(await _f.QueryAsync(bobToken, "UPDATE notes SET body = 'pwned'"), 200);
        Assert.That(update["affected_rows"]!.GetValue<long>(), Is.EqualTo(0));
        var forged = await ProxyFixture.ExpectAsync(await _f.QueryAsync(bobToken, "INSERT INTO notes (owner_id, body) VALUES ($1, 'forged')", alice.Id.ToString()), 403);
        Assert.That(Str(forged, "error"), Does.Contain("row-level security"));
        Assert.That(await _f.TargetScalarAsync<string>("SELECT string_agg(body, ',') FROM notes WHERE owner_id = @Id", new { Id = alice.Id.ToString() }),
            Is.EqualTo("alice's secret"));
        Assert.That(bob.Id, Is.Not.EqualTo(alice.Id));
    }

    [Test]
    public async Task SessionSettings_CarryTheCallerAndAreTransactionLocal()
    {
        var (user, token) = await _f.UserTokenAsync("database:read");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token,
            "SELECT current_setting('authly.user_id') AS uid, current_setting('authly.username') AS un, " +
            "current_setting('authly.client_id') AS cid, current_setting('authly.scopes') AS sc, current_user AS who, " +
            "current_setting('transaction_read_only') AS ro"), 200);
        var row = body["data"]![0]!.AsObject();
        Assert.That(Str(row, "uid"), Is.EqualTo(user.Id.ToString()));
        Assert.That(Str(row, "un"), Is.EqualTo(user.Username));
        Assert.That(Str(row, "cid"), Is.EqualTo((await _f.Authly.ScriptClientAsync()).Id));
        Assert.That(Str(row, "sc"), Is.EqualTo("database:read"));
        Assert.That(Str(row, "who"), Is.EqualTo("authly_app"));
        Assert.That(Str(row, "ro"), Is.EqualTo("on"));
    }

    // ---- limits and errors ----

    [Test]
    public async Task StatementTimeout_Is408()
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT count(*) FROM generate_series(1, 2000000000)"), 408);
        Assert.That(Str(body, "error"), Does.Contain("statement timeout"));
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT 1"), 200);
    }

    [Test]
    public async Task RowLimit_ExceededIs413_AtTheLimitIsFine()
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        var ok = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT g FROM generate_series(1, 50) g"), 200);
        Assert.That(ok["row_count"]!.GetValue<int>(), Is.EqualTo(50));
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT g FROM generate_series(1, 51) g"), 413);
        Assert.That(Str(body, "error"), Does.Contain("more than 50 rows"));
    }

    [Test]
    public async Task WriteWhoseReturningIsOverTheLimit_Is413AndRolledBack()
    {
        var (_, token) = await _f.UserTokenAsync("database:read database:write");
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "INSERT INTO notes (body) SELECT 'bulk' FROM generate_series(1, 60) RETURNING id"), 413);
        Assert.That(await _f.TargetScalarAsync<long>("SELECT count(*) FROM notes WHERE body = 'bulk'"), Is.Zero);
    }

    [Test]
    public async Task ResponseSizeLimit_Is413()
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT repeat('x', 70000) AS big"), 413);
        Assert.That(Str(body, "error"), Does.Contain("larger than"));
    }

    [Test]
    public async Task SqlError_Is400WithPostgresMessage()
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT * FROM no_such_table"), 400);
        Assert.That(Str(body, "error"), Does.Contain("no_such_table").And.Contain("42P01"));
    }

    [TestCase("{}", "'query' is required")]
    [TestCase("{\"query\": 5}", "'query' is required")]
    [TestCase("{\"query\": \"SELECT $1\"}", "uses 1 parameter")]
    [TestCase("{\"query\": \"SELECT 1\", \"params\": [1]}", "uses 0 parameter")]
    [TestCase("{\"query\": \"SELECT 1\", \"params\": {}}", "'params' must be an array")]
    [TestCase("{\"query\": \"\"}", "")]
    [TestCase("{\"query\": \"SELECT 'unterminated\"}", "")]
    [TestCase("[1,2]", "JSON object")]
    [TestCase("{not json", "not valid JSON")]
    public async Task BadBody_Is400WithAClearMessage(string json, string expected)
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        using var request = new HttpRequestMessage(HttpMethod.Post, _f.Postgres!.Url + "/query") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var body = await ProxyFixture.ExpectAsync(await _f.SendAsync(request), 400);
        Assert.That(Str(body, "error"), Does.Contain(expected));
    }

    [Test]
    public async Task NotJson_Is415()
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        using var request = new HttpRequestMessage(HttpMethod.Post, _f.Postgres!.Url + "/query") { Content = new StringContent("query=SELECT 1", Encoding.UTF8, "application/x-www-form-urlencoded") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        await ProxyFixture.ExpectAsync(await _f.SendAsync(request), 415);
    }

    [Test]
    public async Task Types_AreRenderedAsJson()
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token,
            "SELECT 1.5::numeric AS num, '2024-01-02T03:04:05Z'::timestamptz AS ts, '{\"a\":1}'::jsonb AS doc, ARRAY[1,2] AS arr, " +
            "'\\x0102'::bytea AS raw, '00000000-0000-0000-0000-000000000001'::uuid AS id, 'NaN'::float8 AS nan, '1 day'::interval AS span"), 200);
        var row = body["data"]![0]!.AsObject();
        Assert.That(row["num"]!.GetValue<decimal>(), Is.EqualTo(1.5m));
        Assert.That(Str(row, "ts"), Is.EqualTo("2024-01-02T03:04:05.0000000Z"));
        Assert.That(row["doc"]!["a"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(row["arr"]!.AsArray().Select(n => n!.GetValue<decimal>()), Is.EqualTo(new[] { 1m, 2m }));
        Assert.That(Str(row, "raw"), Is.EqualTo("\\x0102"));
        Assert.That(Str(row, "id"), Is.EqualTo("00000000-0000-0000-0000-000000000001"));
        Assert.That(Str(row, "nan"), Is.EqualTo("NaN"));
        Assert.That(row["span"], Is.Not.Null);
    }

    [Test]
    public async Task OneConnection_FailedReadsLeaveItClean_ForTheNextCaller()
    {
        // A pool of one: every request below reuses the same PostgreSQL session.
        await using var proxy = await ProxyServer.StartAsync("postgres", new ProxyOptions
        {
            AuthlyUrl = AuthlyApp.Issuer, DatabaseUrl = _f.ProxyDatabase + ";Maximum Pool Size=1", DatabaseRole = ProxyRoles.Role,
            MaxRows = 5, StatementTimeout = TimeSpan.FromMilliseconds(500),
        }, _f.Authly.CreateClient(), _f.Clock, LogLevel.Warning);
        var (alice, aliceToken) = await _f.UserTokenAsync("database:read database:write");
        var (_, bobToken) = await _f.UserTokenAsync("database:read database:write");
        Task<HttpResponseMessage> Query(string token, string sql, params object[] p) =>
            _f.PostAsync(proxy.Url + "/query", token, new JsonObject { ["query"] = sql, ["params"] = new JsonArray(p.Select(v => JsonValue.Create(v.ToString())).ToArray<JsonNode?>()) });

        await ProxyFixture.ExpectAsync(await Query(aliceToken, "SELECT * FROM no_such_table"), 400);
        await ProxyFixture.ExpectAsync(await Query(aliceToken, "SELECT g FROM generate_series(1, 6) g"), 413);
        await ProxyFixture.ExpectAsync(await Query(aliceToken, "SELECT count(*) FROM generate_series(1, 2000000000)"), 408);
        // Still usable, not inside an old read-only transaction, and the next caller is the next caller.
        var write = await ProxyFixture.ExpectAsync(await Query(bobToken, "INSERT INTO notes (body) VALUES ($1)", "bob after failures"), 200);
        Assert.That(write["affected_rows"]!.GetValue<long>(), Is.EqualTo(1));
        var who = await ProxyFixture.ExpectAsync(await Query(bobToken,
            "SELECT current_setting('authly.user_id') AS uid, current_setting('transaction_read_only') AS ro, (SELECT count(*) FROM notes WHERE body = 'bob after failures') AS n"), 200);
        var row = who["data"]![0]!.AsObject();
        Assert.That(Str(row, "uid"), Is.Not.EqualTo(alice.Id.ToString()));
        Assert.That(Str(row, "ro"), Is.EqualTo("on"));
        Assert.That(row["n"]!.GetValue<decimal>(), Is.EqualTo(1));
        Assert.That(await _f.TargetScalarAsync<long>("SELECT count(*) FROM notes WHERE body = 'bob after failures'"), Is.EqualTo(1), "committed");
    }

    // ---- surviving the database going away ----

    [Test]
    public async Task PooledConnectionsKilled_NextQueryStillWorks()
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT 1"), 200);
        await DatabaseServer.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = @Db AND application_name = '' AND pid <> pg_backend_pid()",
            new { Db = DatabaseServer.DatabaseName(_f.TargetDatabase) });
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT 1"), 200);
    }

    [Test]
    public async Task PooledConnectionsKilled_NextWriteStillWorks_AndHappensOnce()
    {
        var (_, token) = await _f.UserTokenAsync("database:read database:write");
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT 1"), 200);
        await DatabaseServer.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = @Db AND application_name = '' AND pid <> pg_backend_pid()",
            new { Db = DatabaseServer.DatabaseName(_f.TargetDatabase) });
        var marker = "after-kill-" + Guid.NewGuid().ToString("N");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "INSERT INTO notes (body) VALUES ($1)", marker), 200);
        Assert.That(body["affected_rows"]!.GetValue<long>(), Is.EqualTo(1));
        Assert.That(await _f.TargetScalarAsync<long>("SELECT count(*) FROM notes WHERE body = @Marker", new { Marker = marker }), Is.EqualTo(1));
    }

    [Test]
    public async Task DatabaseUnreachable_Is503_ThenRecovers()
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        var db = DatabaseServer.DatabaseName(_f.TargetDatabase);
        try
        {
            await DatabaseServer.CutOffAsync(db);
            var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT 1"), 503);
            Assert.That(Str(body, "error"), Is.EqualTo("Database unavailable"));
            var health = await _f.SendAsync(new HttpRequestMessage(HttpMethod.Get, _f.Postgres!.Url + "/health"));
            Assert.That((int)health.StatusCode, Is.EqualTo(503));
        }
        finally { await DatabaseServer.RestoreAsync(db); }
        await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "SELECT 1"), 200);
    }

    // ---- the scope table, without a database ----

    [TestCase("SELECT 1", "database:read", null, true)]
    [TestCase("SELECT 1", "database:write", null, false)]
    [TestCase("DELETE FROM t", "database:write", null, true)]
    [TestCase("DELETE FROM t", "database:read", null, false)]
    [TestCase("CREATE TABLE t (id int)", "database:read database:write", null, false)]
    [TestCase("CREATE TABLE t (id int)", "database:read database:write", "database:admin", false)]
    [TestCase("CREATE TABLE t (id int)", "database:admin", "database:admin", true)]
    public void Authorize_FollowsTheScopeOfTheStatementClass(string sql, string scopes, string? adminScope, bool allowed)
    {
        var proxy = new PostgresProxy(NpgsqlDataSource.Create("Host=127.0.0.1;Port=1"), new ProxyOptions { AdminScope = adminScope },
            NullLogger<PostgresProxy>.Instance);
        var caller = new ProxyPrincipal("sub", "user", "client", Scopes.ScopeSet.Parse(scopes));
        if (allowed) Assert.DoesNotThrow(() => proxy.Authorize(caller, sql));
        else Assert.That(Assert.Throws<AuthlyException>(() => proxy.Authorize(caller, sql))!.Status, Is.EqualTo(403));
    }
}
