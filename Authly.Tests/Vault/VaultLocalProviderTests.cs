using System.Net.Http.Json;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Authly.Tests.Cluster;
using Authly.Tests.Infrastructure;
using Authly.Vault;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Authly.Tests.Vault;

/// <summary>
/// The vault with this Authly as its provider ("authly", called in process), and key rotation:
/// servers restarted on one database with the key ring changing under them.
/// </summary>
[TestFixture, Category("Vault")]
public sealed class VaultLocalProviderTests
{
    private static string NewKey() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    private static Task<AuthlyApp> StartAsync(string database, string currentKey, params string[] previousKeys) =>
        AuthlyApp.StartAsync(new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = database,
            ["AUTHLY_VAULT_ENCRYPTION_KEY"] = currentKey,
            ["AUTHLY_VAULT_PREVIOUS_KEYS"] = string.Join(',', previousKeys),
        });

    private static Task<Guid> ConnectLocallyAsync(AuthlyApp app, VaultApp.User user, string purpose) =>
        VaultApp.ConnectAsync(app, user, VaultProvider.LocalName, url => VaultApp.ApproveLocallyAsync(app, user, url), purpose);

    [Test, Description("Issue 13: the connect pages show a refusal as a \"Cannot connect\" page with its status, through the one page mapper")]
    public async Task ConnectPages_Refusals_AreCannotConnectPagesWithTheirStatus()
    {
        using var app = await StartAsync(await TestServers.CreateDatabaseAsync(), NewKey());
        var user = await VaultApp.UserAsync(app);
        var browser = await VaultApp.BrowserAsync(app, user);

        var unknownProvider = await browser.GetAsync("/api/v1/vault/connect/no-such-provider?purpose=x");
        var badReturnTo = await browser.GetAsync("/api/v1/vault/connect/" + VaultProvider.LocalName + "?purpose=x&return_to=https://evil.example/");
        var noState = await browser.GetAsync("/api/v1/vault/callback?code=abc");

        foreach (var (response, status, text) in new[]
        {
            (unknownProvider, HttpStatusCode.NotFound, "not found"),
            (badReturnTo, HttpStatusCode.BadRequest, "return_to must be a path on this server"),
            (noState, HttpStatusCode.BadRequest, "The callback has no state"),
        })
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.That(response.StatusCode, Is.EqualTo(status), body);
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(body, Does.Contain("Cannot connect").And.Contain(text));
        }
        Assert.That(await app.SqlScalarAsync<long>("SELECT count(*) FROM vault_connect_states"), Is.Zero, "a refused start stores no state");
    }

    [Test, Description("Issue #7: Authly itself is a provider by default")]
    public async Task ConnectFlow_WithThisAuthly_StoresOfflineEntryAndMintsTokensValidHere()
    {
        using var app = await StartAsync(await TestServers.CreateDatabaseAsync(), NewKey());
        var user = await VaultApp.UserAsync(app);
        var entry = await ConnectLocallyAsync(app, user, "reports");
        using var http = VaultApp.Client(app, user.Token);

        var (status, listed) = await VaultApp.SendAsync(http, HttpMethod.Get, $"/api/v1/vault/tokens/{entry}");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), listed.ToJsonString());
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(listed, "provider"), Is.EqualTo("authly"));
            Assert.That(AuthlyApp.Str(listed, "token_type"), Is.EqualTo("offline"));
            Assert.That(AuthlyApp.Str(listed, "subject"), Is.EqualTo(user.Id.ToString()));
            Assert.That(listed.ToJsonString(), Does.Not.Contain("refresh_token\""));
        });

        var (s1, first) = await VaultApp.MintAsync(http, entry);
        Assert.That(s1, Is.EqualTo(HttpStatusCode.OK), first.ToJsonString());
        var access = AuthlyApp.Str(first, "access_token");
        var introspection = await AuthlyApp.JsonAsync(await app.PostFormAsync("/api/v1/oauth/introspect", ("token", access)));
        Assert.That(introspection["active"]!.GetValue<bool>(), Is.True);
        Assert.That(AuthlyApp.Str(introspection, "sub"), Is.EqualTo(user.Id.ToString()));

        var (_, second) = await VaultApp.MintAsync(http, entry);
        Assert.That(second["cached"]!.GetValue<bool>(), Is.True);
        Assert.That(AuthlyApp.Str(second, "access_token"), Is.EqualTo(access));

        var (withResource, resourceError) = await VaultApp.MintAsync(http, entry, new { resource = "https://api.example.test" });
        Assert.That(((int)withResource, AuthlyApp.Str(resourceError, "error_code")), Is.EqualTo((400, "UPSTREAM_INVALID_TARGET")),
            "Authly does not implement RFC 8707, so it says so instead of ignoring the audience");

        var (_, sessions) = await VaultApp.SendAsync(http, HttpMethod.Get, "/api/v1/vault/sessions");
        var local = sessions["providers"]!.AsArray().Single(p => p!["entry_id"]!.GetValue<string>() == entry.ToString())!;
        Assert.That(local["sessions_supported"]!.GetValue<bool>(), Is.True, sessions.ToJsonString());
    }

    [Test, Description("Issue #7: the connect flow for a user at their browser (session cookie); without a session, the login page comes first")]
    public async Task ConnectFlow_InBrowserWithoutSession_SignsInFirstThenStoresEntry()
    {
        using var app = await StartAsync(await TestServers.CreateDatabaseAsync(), NewKey());
        var user = await VaultApp.UserAsync(app);
        using var browser = VaultApp.Client(app, token: null);
        const string connect = "/api/v1/vault/connect/authly?purpose=browser";

        var start = await browser.GetAsync(connect);
        Assert.That(start.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var loginPage = await browser.GetAsync(start.Headers.Location!.ToString());
        var fields = VaultApp.HiddenFields(await loginPage.Content.ReadAsStringAsync());
        Assert.That(fields["return_to"], Is.EqualTo(connect), "the login page returns to the connect flow");
        var signedIn = await browser.PostAsync("/login", AuthlyApp.Form(("username", user.Username), ("password", user.Password),
            ("csrf_token", fields["csrf_token"]), ("return_to", fields["return_to"])));
        Assert.That(signedIn.Headers.Location?.ToString(), Is.EqualTo(connect));

        var toProvider = await browser.GetAsync(connect);
        Assert.That(toProvider.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await toProvider.Content.ReadAsStringAsync());
        var callback = await VaultApp.ApproveAsync(browser, toProvider.Headers.Location!.ToString());
        var done = await browser.GetAsync(callback.PathAndQuery);
        var html = await done.Content.ReadAsStringAsync();
        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.OK), html);
        var entry = System.Text.RegularExpressions.Regex.Match(html, "id=\"vault-entry\">([0-9a-f-]{36})<").Groups[1].Value;

        // (This app's DATABASE_URL is not AuthlyApp's own database: read through the server's store.)
        var stored = await app.Services.GetRequiredService<VaultEntryStore>().GetAsync(Guid.Parse(entry), CancellationToken.None);
        Assert.That((stored?.Purpose, stored?.CreatedBy), Is.EqualTo(("browser", $"user:{user.Id}")));
        // Connected in the browser (first party), it is granted to no client: the user's token of a third-party
        // client does not reach it (issue 11, RFC 9700 §4.10).
        using var api = VaultApp.Client(app, await VaultApp.ThirdPartyTokenAsync(app, user));
        var (status, body) = await VaultApp.SendAsync(api, HttpMethod.Get, $"/api/v1/vault/tokens/{entry}");
        Assert.That(status, Is.EqualTo(HttpStatusCode.NotFound), body.ToJsonString());
        // The owner's first-party token does, so the owner can grant it to the apps that should use it.
        using var owner = VaultApp.Client(app, user.Token);
        Assert.That((await VaultApp.SendAsync(owner, HttpMethod.Get, $"/api/v1/vault/tokens/{entry}")).Status, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test, Description("Issue #7: calls that reach a provider are rate limited per IP (429 RATE_LIMITED with Retry-After)")]
    public async Task Validate_OverTheRateLimit_Returns429WithRetryAfter()
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["RATE_LIMIT_MAX_REQUESTS"] = "3" });
        var user = await VaultApp.UserAsync(app);
        using var http = VaultApp.Client(app, user.Token);
        var statuses = new List<int>();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 4; i++)
        {
            last = await http.PostAsJsonAsync("/api/v1/vault/validate", new { provider = "authly", token = user.Token });
            statuses.Add((int)last.StatusCode);
        }
        Assert.That(statuses, Is.EqualTo(new[] { 200, 200, 200, 429 }));
        var body = await AuthlyApp.JsonAsync(last!);
        Assert.That(AuthlyApp.Str(body, "error_code"), Is.EqualTo("RATE_LIMITED"));
        Assert.That(last!.Headers.RetryAfter?.Delta, Is.Not.Null);
        // Reading entries does not reach a provider and is not counted.
        Assert.That((await http.GetAsync("/api/v1/vault/tokens")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test, Description("Issue #7: outside embedded/testing mode the vault does not start without AUTHLY_VAULT_ENCRYPTION_KEY")]
    public async Task Vault_InProductionWithoutKey_AnswersVaultNotConfigured()
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?>
        {
            ["AUTHLY_MODE"] = "production",
            ["JWT_SECRET_KEY"] = Authly.Security.OpaqueToken.New(32),
            ["JWT_REFRESH_SECRET_KEY"] = Authly.Security.OpaqueToken.New(32),
        });
        var user = await VaultApp.UserAsync(app);
        using var http = VaultApp.Client(app, user.Token);
        var (status, body) = await VaultApp.SendAsync(http, HttpMethod.Post, "/api/v1/vault/tokens", new { provider = "authly", refresh_token = "x" });
        Assert.That(((int)status, AuthlyApp.Str(body, "error_code")), Is.EqualTo((503, "VAULT_NOT_CONFIGURED")));
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain("AUTHLY_VAULT_ENCRYPTION_KEY"));
        var ready = await app.CreateClient().GetAsync("/health/ready");
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the rest of Authly serves");
    }

    [Test, Description("Issue #7: key rotation re-wraps data keys; entries record their key, so reads work during the rotation")]
    public async Task KeyRotation_AcrossRestarts_KeepsEveryEntryReadable()
    {
        var database = await TestServers.CreateDatabaseAsync();
        var (k1, k2) = (NewKey(), NewKey());
        var k1Id = VaultKeyRing.FromHexKeys(k1, []).Current!.Id;
        var k2Id = VaultKeyRing.FromHexKeys(k2, []).Current!.Id;
        VaultApp.User user;
        var entries = new List<Guid>();

        using (var app = await StartAsync(database, k1))
        {
            user = await VaultApp.UserAsync(app);
            foreach (var purpose in new[] { "one", "two", "three" }) entries.Add(await ConnectLocallyAsync(app, user, purpose));
            var admin = VaultApp.Client(app, await app.AdminTokenAsync("admin:system:write admin:system:read"));
            var (created, body) = await VaultApp.SendAsync(admin, HttpMethod.Post, "/admin/vault/providers", new
            {
                name = "elsewhere", issuer = "https://idp.example.test", client_id = "authly", client_secret = "provider-secret-value", check_discovery = false,
            });
            Assert.That(created, Is.EqualTo(HttpStatusCode.Created), body.ToJsonString());
        }

        using (var app = await StartAsync(database, k2, k1))
        {
            using var http = VaultApp.Client(app, user.Token);
            var (status, minted) = await VaultApp.MintAsync(http, entries[0]);
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK), "an entry wrapped by the previous key is read during the rotation: " + minted.ToJsonString());

            var result = await app.Services.GetRequiredService<VaultKeyRotation>().RunAsync(2, CancellationToken.None);
            Assert.That((result.Entries, result.Providers, result.Unreadable), Is.EqualTo((3, 1, 0)));
            var admin = VaultApp.Client(app, await app.AdminTokenAsync("admin:system:read"));
            var (_, keys) = await VaultApp.SendAsync(admin, HttpMethod.Get, "/admin/vault/keys");
            Assert.That(keys["entries_by_key_id"]!.AsObject().Select(kv => kv.Key), Is.EquivalentTo(new[] { k2Id }), keys.ToJsonString());
        }

        using (var app = await StartAsync(database, k2))
        {
            using var http = VaultApp.Client(app, user.Token);
            foreach (var entry in entries)
            {
                var (status, body) = await VaultApp.MintAsync(http, entry, new { force_refresh = true });
                Assert.That(status, Is.EqualTo(HttpStatusCode.OK), $"entry {entry} after the old key is gone: {body.ToJsonString()}");
            }
        }

        using (var app = await StartAsync(database, k1))
        {
            using var http = VaultApp.Client(app, user.Token);
            var (status, body) = await VaultApp.MintAsync(http, entries[1], new { force_refresh = true });
            Assert.That(((int)status, AuthlyApp.Str(body, "error_code")), Is.EqualTo((500, "VAULT_ENTRY_UNREADABLE")), "only the new key opens the rows now");
            Assert.That(body.ToJsonString(), Does.Not.Contain(k2Id).And.Not.Contain(k1Id));
        }
        await using var db = NpgsqlDataSource.Create(database);
        await using var conn = await db.OpenConnectionAsync();
        Assert.That(await conn.QueryAsync<string>("SELECT DISTINCT key_id FROM vault_providers WHERE key_id IS NOT NULL"), Is.EquivalentTo(new[] { k2Id }));
    }

    [Test, Description("Issue #7: `authly vault rotate-key` (the CLI) re-wraps rows and reports what it could not open")]
    public async Task RotateKeyCommand_WithPreviousKey_ReWrapsAndWithoutIt_ExitsThree()
    {
        var database = await TestServers.CreateDatabaseAsync();
        var (k1, k2, k3) = (NewKey(), NewKey(), NewKey());
        Guid entry;
        VaultApp.User user;
        using (var app = await StartAsync(database, k1))
        {
            user = await VaultApp.UserAsync(app);
            entry = await ConnectLocallyAsync(app, user, "cli");
        }

        var (code, output) = await RunCliAsync(database, k2, k1);
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("Re-wrapped: 1 entries"));

        (code, output) = await RunCliAsync(database, k3);
        Assert.That(code, Is.EqualTo(3), output);
        Assert.That(output, Does.Contain(VaultKeyRing.FromHexKeys(k2, []).Current!.Id), "names the key that is missing");
        Assert.That(output, Does.Not.Contain(k2).And.Not.Contain(k3), "never prints a key");

        using var after = await StartAsync(database, k2);
        using var http = VaultApp.Client(after, user.Token);
        var (status, body) = await VaultApp.MintAsync(http, entry, new { force_refresh = true });
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
    }

    [Test, Description("Issue #7: providers are managed through the CLI too; the secret is read from the environment, never an argument")]
    public async Task ProvidersCommands_AddListRemove_ManageAProvider()
    {
        var database = await TestServers.CreateDatabaseAsync();
        var key = NewKey();
        var env = new Dictionary<string, string> { ["AUTHLY_VAULT_CLIENT_SECRET"] = "cli-provider-secret" };
        var (code, output) = await RunCliAsync(database, key, [], env, "vault", "providers", "add", "--name", "corp", "--issuer", "https://sso.example.test/realms/main",
            "--client-id", "authly-vault", "--no-discovery-check");
        Assert.That(code, Is.EqualTo(0), output);
        (code, output) = await RunCliAsync(database, key, [], null, "vault", "providers", "list");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("corp").And.Contain("https://sso.example.test/realms/main"));
        Assert.That(output, Does.Contain("authly").And.Not.Contain("cli-provider-secret"));
        (code, output) = await RunCliAsync(database, key, [], null, "vault", "providers", "remove", "--name", "corp");
        Assert.That(code, Is.EqualTo(0), output);

        await using var db = NpgsqlDataSource.Create(database);
        await using var conn = await db.OpenConnectionAsync();
        var row = await conn.QuerySingleAsync<(bool Active, byte[] Secret)>("SELECT is_active, client_secret_encrypted FROM vault_providers WHERE name = 'corp'");
        Assert.That(row.Active, Is.False);
        Assert.That(System.Text.Encoding.UTF8.GetString(row.Secret), Does.Not.Contain("cli-provider-secret"));
        var audit = await conn.QueryAsync<string>("SELECT action FROM vault_audit WHERE actor = 'admin:cli' ORDER BY id");
        Assert.That(audit, Is.EqualTo(new[] { "provider_create", "provider_deactivate" }));
    }

    private static Task<(int Code, string Output)> RunCliAsync(string database, string key, params string[] previous) =>
        RunCliAsync(database, key, previous, null, "vault", "rotate-key");

    private static async Task<(int Code, string Output)> RunCliAsync(string database, string key, string[] previous, Dictionary<string, string>? env,
        params string[] args)
    {
        var server = AuthlyNode.ServerDll();
        var cli = Path.Combine(Path.GetDirectoryName(server)!.Replace(Path.Combine("Authly.Server", "bin"), Path.Combine("Authly.Cli", "bin")), "authly.dll");
        Assert.That(File.Exists(cli), Is.True, $"{cli} is missing; build the solution first");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args.Prepend(cli)) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? []) psi.Environment[k] = v;
        psi.Environment["DATABASE_URL"] = database;
        psi.Environment["AUTHLY_VAULT_ENCRYPTION_KEY"] = key;
        psi.Environment["AUTHLY_VAULT_PREVIOUS_KEYS"] = string.Join(',', previous);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
