using System.Text.Json.Nodes;
using Authly.Proxy;
using Authly.Server.Proxy;
using Authly.Tests.Cli;
using Authly.Tests.Infrastructure;
using Authly.Tests.Proxies;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Authly.Tests.Attacks;

/// <summary>
/// Statement smuggling through `authly proxy postgres` (issue 11, finding 7 and the proxy items of
/// finding 9). RFC 9700 §2.3: an access token's privileges are restricted to what it was granted, so a
/// <c>database:write</c> token must not reach Authly's own tables (password hashes, <c>is_admin</c>), must
/// not rewrite the settings that carry the caller's identity to row-level security, and must not crash
/// the proxy. The first line of defence is the role statements run as; the proxy refuses to start
/// without one that is safe, and each way of getting that wrong is an attack here.
/// </summary>
[TestFixture, Category("Attacks"), Category("Proxy")]
public sealed class ProxyStatementSmugglingAttacks
{
    private ProxyFixture _f = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _f = await ProxyFixture.StartAsync(redis: false);

    [OneTimeTearDown]
    public async Task StopAsync() => await _f.DisposeAsync();

    private const string AttackerPassword = "attacker-login-password";

    private Task<ProxyServer> StartProxyAsync(string databaseUrl, string? role) =>
        ProxyServer.StartAsync("postgres", new ProxyOptions
        {
            AuthlyUrl = AuthlyApp.Issuer, Port = 0, DatabaseUrl = databaseUrl, DatabaseRole = role,
        }, _f.Authly.CreateClient(), _f.Clock, LogLevel.Warning);

    /// <summary>The proxy must refuse to start; returns why it said it did.</summary>
    private async Task<Exception> RefusedAsync(string databaseUrl, string? role)
    {
        try
        {
            await using var started = await StartProxyAsync(databaseUrl, role);
        }
        catch (Exception e) when (e is not AssertionException)
        {
            return e;
        }
        Assert.Fail($"the proxy started on {new NpgsqlConnectionStringBuilder(databaseUrl).Username}@{DatabaseServer.DatabaseName(databaseUrl)} with --role {role ?? "(none)"}");
        return null!;
    }

    /// <summary>A fresh migrated Authly database and a login of its own (roles are server-wide, so every test names its own).</summary>
    private static async Task<(string Database, string Login, string LoginName, string Suffix)> AuthlyDatabaseWithLoginAsync()
    {
        var database = await TestServers.CreateDatabaseAsync();
        var suffix = Guid.NewGuid().ToString("N")[..10];
        var login = "atk_login_" + suffix;
        // The name is generated above from [a-z0-9_] and the password is a constant; role DDL takes no parameters.
        await ProxyRoles.RunRoleSqlAsync(database, $"CREATE ROLE {login} LOGIN NOINHERIT PASSWORD '{AttackerPassword}'");
        return (database, ProxyRoles.As(database, login, AttackerPassword), login, suffix);
    }

    private static async Task ExecuteAsync(string database, string sql)
    {
        await using var conn = new NpgsqlConnection(database + ";Pooling=false");
        await conn.OpenAsync();
        await conn.ExecuteAsync(sql);
    }

    private Task<HttpResponseMessage> QueryAsync(ProxyServer proxy, string token, string sql, params object[] parameters) =>
        _f.PostAsync(proxy.Url + "/query", token, new JsonObject
        {
            ["query"] = sql, ["params"] = new JsonArray(parameters.Select(p => JsonValue.Create(p.ToString())).ToArray<JsonNode?>()),
        });

    // ------------------------------------------------------------------ finding 7: the proxy as Authly's owner

    [Test, Description("Issue 11 finding 7; RFC 9700 §2.3")]
    public async Task DatabaseWriteUser_ReadsPasswordHashesAndMakesThemselvesAdmin_ThroughTheProxyOnAuthlysDatabase()
    {
        var authlyDatabase = _f.Authly.DatabaseConnectionString;
        // As the compose authz profile ran it: logged in as the owner of Authly's database (its superuser), no --role.
        var refusal = await RefusedAsync(authlyDatabase, role: null);
        Assert.That(refusal, Is.InstanceOf<ArgumentException>());
        Assert.That(refusal.Message, Does.Contain("--role"));

        // As it has to run: a login that can only become a role with no rights on Authly's tables.
        var login = await ProxyRoles.LoginAsync(authlyDatabase);
        await using var proxy = await StartProxyAsync(login, ProxyRoles.Role);
        var (user, token) = await _f.UserTokenAsync("database:read database:write");

        var read = await QueryAsync(proxy, token, "SELECT username, password_hash FROM users");
        var readBody = await ProxyFixture.ExpectAsync(read, 403);
        Assert.That(readBody.ToJsonString(), Does.Not.Contain("argon2"));

        var promote = await QueryAsync(proxy, token, "UPDATE users SET is_admin = true WHERE username = $1", user.Username);
        await ProxyFixture.ExpectAsync(promote, 403);
        Assert.That(await _f.Authly.SqlScalarAsync<bool>("SELECT is_admin FROM users WHERE id = @Id", new { user.Id }), Is.False);
    }

    [Test, Description("Issue 11 finding 7")]
    public async Task ProxyWithoutARole_RefusesToStart_SayingWhatToCreate()
    {
        var refusal = await RefusedAsync(await ProxyRoles.LoginAsync(_f.TargetDatabase), role: null);
        Assert.That(refusal, Is.InstanceOf<ArgumentException>());
        Assert.That(refusal.Message, Does.Contain("--role").And.Contain("AUTHLY_PROXY_DB_ROLE").And.Contain("CREATE ROLE"));
    }

    [Test, Description("Issue 11 finding 7")]
    public async Task ProxyLoggedInAsASuperuser_RefusesToStart_SayingWhatToCreate()
    {
        await ProxyRoles.LoginAsync(_f.TargetDatabase); // the role exists and the superuser could become it
        var refusal = await RefusedAsync(_f.TargetDatabase, ProxyRoles.Role);
        Assert.That(refusal, Is.InstanceOf<AuthlyException>().With.Property("Code").EqualTo(ProxyErrors.UnsafeDatabaseRoleCode));
        Assert.That(refusal.Message, Does.Contain("superuser").And.Contain("CREATE ROLE").And.Contain($"GRANT {ProxyRoles.Role} TO"));
    }

    [Test, Description("Issue 11 finding 7")]
    public async Task ProxyLoggedInAsASuperuser_FromTheCommandLine_ExitsTwo()
    {
        await ProxyRoles.LoginAsync(_f.TargetDatabase);
        var r = await new AuthlyCli("http://127.0.0.1:1").RunWithAsync(null, new Dictionary<string, string?> { ["DATABASE_URL"] = null },
            "proxy", "postgres", "--database-url", _f.TargetDatabase, "--role", ProxyRoles.Role,
            "--port", AuthlyCli.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture), "--no-wire");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr, Does.Contain("superuser").And.Contain("CREATE ROLE"));
        Assert.That(r.Stdout, Does.Not.Contain("is running"));
    }

    [Test, Description("Issue 11 finding 7")]
    public async Task ProxyLoggedInAsTheOwnerOfAuthlysSchema_RefusesToStart()
    {
        var (database, login, loginName, _) = await AuthlyDatabaseWithLoginAsync();
        await ProxyRoles.LoginAsync(database);
        await ProxyRoles.RunRoleSqlAsync(database, $"GRANT {ProxyRoles.Role} TO {loginName}");
        // What `authly migrate` leaves when that login runs it: the schema and every table are its own.
        await ExecuteAsync(database, $$"""
            ALTER SCHEMA public OWNER TO {{loginName}};
            DO $$
            DECLARE t text;
            BEGIN
                FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
                    EXECUTE format('ALTER TABLE public.%I OWNER TO %I', t, '{{loginName}}');
                END LOOP;
            END
            $$;
            """);
        var refusal = await RefusedAsync(login, ProxyRoles.Role);
        Assert.That(refusal, Is.InstanceOf<AuthlyException>().With.Property("Code").EqualTo(ProxyErrors.UnsafeDatabaseRoleCode));
        Assert.That(refusal.Message, Does.Contain(loginName).And.Contain("owns").And.Contain("users"));
    }

    [Test, Description("Issue 11 finding 7")]
    public async Task ProxyRunningAsARoleThatCanWriteAuthlysTables_RefusesToStart()
    {
        var (database, login, loginName, suffix) = await AuthlyDatabaseWithLoginAsync();
        var writer = "atk_writer_" + suffix;
        await ProxyRoles.RunRoleSqlAsync(database, $"CREATE ROLE {writer} NOLOGIN; GRANT {writer} TO {loginName};");
        await ExecuteAsync(database, $"GRANT SELECT, UPDATE ON users TO {writer}");
        var refusal = await RefusedAsync(login, writer);
        Assert.That(refusal, Is.InstanceOf<AuthlyException>().With.Property("Code").EqualTo(ProxyErrors.UnsafeDatabaseRoleCode));
        Assert.That(refusal.Message, Does.Contain(writer).And.Contain("users").And.Contain("UPDATE"));
    }

    [Test, Description("Issue 11 finding 7")]
    public async Task ProxyRunningAsARoleThatCanCreateInAuthlysSchema_RefusesToStart()
    {
        var (database, login, loginName, suffix) = await AuthlyDatabaseWithLoginAsync();
        var creator = "atk_creator_" + suffix;
        await ProxyRoles.RunRoleSqlAsync(database, $"CREATE ROLE {creator} NOLOGIN; GRANT {creator} TO {loginName};");
        await ExecuteAsync(database, $"GRANT CREATE ON SCHEMA public TO {creator}");
        var refusal = await RefusedAsync(login, creator);
        Assert.That(refusal, Is.InstanceOf<AuthlyException>().With.Property("Code").EqualTo(ProxyErrors.UnsafeDatabaseRoleCode));
        Assert.That(refusal.Message, Does.Contain(creator).And.Contain("CREATE").And.Contain("public"));
    }

    [Test, Description("Issue 11 finding 7")]
    public async Task ProxyRunningAsARoleItCannotSetRoleTo_RefusesToStart()
    {
        var (database, login, loginName, suffix) = await AuthlyDatabaseWithLoginAsync();
        var stranger = "atk_stranger_" + suffix;
        await ProxyRoles.RunRoleSqlAsync(database, $"CREATE ROLE {stranger} NOLOGIN");
        var refusal = await RefusedAsync(login, stranger);
        Assert.That(refusal, Is.InstanceOf<AuthlyException>().With.Property("Code").EqualTo(ProxyErrors.UnsafeDatabaseRoleCode));
        Assert.That(refusal.Message, Does.Contain("SET ROLE").And.Contain($"GRANT {stranger} TO {loginName}"));
    }

    [Test, Description("Issue 11 finding 7")]
    public async Task ProxyRunningAsARoleThatDoesNotExist_RefusesToStart()
    {
        var (_, login, loginName, suffix) = await AuthlyDatabaseWithLoginAsync();
        var missing = "atk_missing_" + suffix;
        var refusal = await RefusedAsync(login, missing);
        Assert.That(refusal, Is.InstanceOf<AuthlyException>().With.Property("Code").EqualTo(ProxyErrors.UnsafeDatabaseRoleCode));
        Assert.That(refusal.Message, Does.Contain($"CREATE ROLE {missing} NOLOGIN").And.Contain($"GRANT {missing} TO {loginName}"));
    }

    [Test, Description("Issue 11 finding 7: row-level security is how the proxy keeps users apart")]
    public async Task ProxyRunningAsARoleThatBypassesRowLevelSecurity_RefusesToStart()
    {
        var (database, login, loginName, suffix) = await AuthlyDatabaseWithLoginAsync();
        var bypass = "atk_bypass_" + suffix;
        await ProxyRoles.RunRoleSqlAsync(database, $"CREATE ROLE {bypass} NOLOGIN BYPASSRLS; GRANT {bypass} TO {loginName};");
        var refusal = await RefusedAsync(login, bypass);
        Assert.That(refusal, Is.InstanceOf<AuthlyException>().With.Property("Code").EqualTo(ProxyErrors.UnsafeDatabaseRoleCode));
        Assert.That(refusal.Message, Does.Contain(bypass).And.Contain("BYPASSRLS"));
    }

    // ------------------------------------------------------------------ finding 9: COPY, pg_settings, setseed

    [Test, Description("Issue 11 finding 9: COPY through the HTTP proxy was a 500")]
    public async Task CopyToStdout_OverHttp_IsA400NotA500()
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "COPY notes TO STDOUT"), 400);
        Assert.That(body["error"]!.GetValue<string>(), Does.Contain("COPY").And.Contain("SELECT"));
        body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "COPY (SELECT body FROM notes) TO STDOUT WITH (FORMAT csv)"), 400);
        Assert.That(body["error"]!.GetValue<string>(), Does.Contain("COPY"));
    }

    [Test, Description("Issue 11 finding 9")]
    public async Task CopyFromStdin_OverHttp_IsA400AndChangesNothing()
    {
        var (_, token) = await _f.UserTokenAsync("database:read database:write");
        var before = await _f.TargetScalarAsync<long>("SELECT count(*) FROM notes");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, "COPY notes (body) FROM STDIN"), 400);
        Assert.That(body["error"]!.GetValue<string>(), Does.Contain("COPY").And.Contain("INSERT"));
        Assert.That(await _f.TargetScalarAsync<long>("SELECT count(*) FROM notes"), Is.EqualTo(before));
    }

    [TestCase("UPDATE pg_settings SET setting = $1 WHERE name = 'authly.user_id'")]
    [TestCase("update PG_CATALOG.PG_SETTINGS set setting = $1 where name = 'authly.user_id'")]
    [TestCase("UPDATE \"pg_settings\" SET setting = $1 WHERE name = 'authly.user_id'")]
    [TestCase("WITH s AS (UPDATE pg_settings SET setting = $1 WHERE name = 'authly.user_id' RETURNING setting) SELECT * FROM s")]
    [Description("Issue 11 finding 9: pg_settings is set_config() by another name, and authly.user_id is who row-level security thinks the caller is")]
    public async Task UpdatePgSettings_ToBecomeAnotherUser_IsRefusedWithoutTheAdminScope(string sql)
    {
        var (victim, _) = await _f.UserTokenAsync("database:read");
        var (_, token) = await _f.UserTokenAsync("database:read database:write");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, sql, victim.Id.ToString()), 403);
        Assert.That(body["error"]!.GetValue<string>(), Does.Contain("pg_settings"));
    }

    [TestCase("SELECT setseed(0.5)")]
    [TestCase("SELECT pg_catalog.setseed(0)")]
    [TestCase("SELECT 1 FROM (SELECT setseed(0.25)) s")]
    [Description("Issue 11 finding 9: the seed stays on the pooled connection, so the next caller's random() becomes predictable")]
    public async Task Setseed_ToPredictTheNextCallersRandom_IsRefusedWithoutTheAdminScope(string sql)
    {
        var (_, token) = await _f.UserTokenAsync("database:read database:write");
        var body = await ProxyFixture.ExpectAsync(await _f.QueryAsync(token, sql), 403);
        Assert.That(body["error"]!.GetValue<string>(), Does.Contain("setseed"));
    }
}
