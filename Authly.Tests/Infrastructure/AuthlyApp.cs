using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Hosting;
using Authly.Configuration;
using Authly.Security;
using Dapper;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Authly.Tests.Infrastructure;

/// <summary>
/// One Authly server in-process, on its own database and Redis key prefix, so fixtures never
/// share rows or counters. Settings are the environment names from API.md.
/// </summary>
public sealed class AuthlyApp : WebApplicationFactory<Program>
{
    public const string Issuer = "http://localhost";
    public const string AdminUsername = "admin";
    public const string AdminPassword = "Admin-Password-123";

    private readonly Dictionary<string, string?> _settings;
    private readonly TimeProvider? _clock;
    public string DatabaseConnectionString { get; }

    private AuthlyApp(string connectionString, Dictionary<string, string?> settings, TimeProvider? clock)
    {
        DatabaseConnectionString = connectionString;
        _settings = settings;
        _clock = clock;
    }

    /// <param name="clock">the server's clock, for tests that move time (e.g. a <see cref="TestClock"/>)</param>
    public static async Task<AuthlyApp> StartAsync(IReadOnlyDictionary<string, string?>? overrides = null, bool withRedis = true, TimeProvider? clock = null)
    {
        var app = await CreateAsync(overrides, withRedis, clock);
        _ = app.Server; // start now, so startup failures surface in the fixture's setup
        return app;
    }

    /// <summary>
    /// The same server on real Kestrel at http://127.0.0.1:<paramref name="port"/> (also its issuer),
    /// for clients that need a socket, such as a real browser. CreateClient() talks to it over TCP.
    /// </summary>
    public static async Task<AuthlyApp> StartOnKestrelAsync(int port, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        // WebAuthn needs a localhost issuer (a secure context by name); other tests keep 127.0.0.1.
        var settings = new Dictionary<string, string?>(overrides ?? new Dictionary<string, string?>());
        settings.TryAdd("AUTHLY_ISSUER", $"http://127.0.0.1:{port}");
        var app = await CreateAsync(settings, withRedis: true);
        app.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        app.StartServer();
        return app;
    }

    /// <summary>
    /// A server on an existing database (<paramref name="connectionString"/>), so several in-process nodes can share one,
    /// as the nodes of a cluster do. <paramref name="overrides"/> may point DATABASE_URL elsewhere (e.g. a proxy in front of it).
    /// </summary>
    public static Task<AuthlyApp> StartOnDatabaseAsync(string connectionString, IReadOnlyDictionary<string, string?>? overrides = null, TimeProvider? clock = null)
    {
        var app = Create(connectionString, overrides, withRedis: true, clock);
        // Program exits the process on a configuration error, which would abort the whole test run: check the settings
        // first, so a setting this server does not accept fails the fixture that gave it.
        _ = AuthlyOptions.Load(key => app._settings.GetValueOrDefault(key));
        _ = app.Server;
        return Task.FromResult(app);
    }

    private static async Task<AuthlyApp> CreateAsync(IReadOnlyDictionary<string, string?>? overrides, bool withRedis, TimeProvider? clock = null) =>
        Create(await TestServers.CreateDatabaseAsync(), overrides, withRedis, clock);

    private static AuthlyApp Create(string cs, IReadOnlyDictionary<string, string?>? overrides, bool withRedis, TimeProvider? clock)
    {
        var settings = new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = cs,
            ["REDIS_URL"] = withRedis ? TestServers.RedisUrl : "",
            ["AUTHLY_REDIS_PREFIX"] = $"t{Guid.NewGuid():N}:",
            ["AUTHLY_MODE"] = "testing",
            ["AUTHLY_ISSUER"] = Issuer,
            ["AUTHLY_ADMIN_USERNAME"] = AdminUsername,
            ["AUTHLY_ADMIN_PASSWORD"] = AdminPassword,
            ["RATE_LIMIT_MAX_REQUESTS"] = "0",
            // The cheapest Argon2id the server accepts keeps the suite fast; production defaults are tested in Core tests.
            ["AUTHLY_ARGON2_OPSLIMIT"] = "1",
            ["AUTHLY_ARGON2_MEMLIMIT_KIB"] = "8192",
            ["LOG_LEVEL"] = "Warning",
            // Disposing a fixture's server is not a rolling deploy: no readiness drain.
            ["AUTHLY_SHUTDOWN_DRAIN_SECONDS"] = "0",
            // Tests that plant expired rows and then use them must not race a sweep round; sweeper tests drive rounds themselves.
            ["AUTHLY_SWEEP_INTERVAL_SECONDS"] = "0",
        };
        if (overrides is not null)
            foreach (var (k, v) in overrides) settings[k] = v;
        return new AuthlyApp(cs, settings, clock);
    }

    /// <summary>
    /// Another node of the same deployment: same database, Redis prefix and settings, its own
    /// process state (caches, key ring) and, optionally, its own clock.
    /// </summary>
    public AuthlyApp StartPeer(TimeProvider? clock = null, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>(_settings);
        if (overrides is not null)
            foreach (var (k, v) in overrides) settings[k] = v;
        var peer = new AuthlyApp(DatabaseConnectionString, settings, clock);
        _ = peer.Server;
        return peer;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (k, v) in _settings) builder.UseSetting(k, v);
        if (_clock is not null) builder.ConfigureTestServices(services => services.AddSingleton(_clock));
    }

    public NpgsqlDataSource Database() => NpgsqlDataSource.Create(DatabaseConnectionString);

    // ---- small HTTP helpers: tests still assert on the raw responses ----

    public static FormUrlEncodedContent Form(params (string Key, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));

    public Task<HttpResponseMessage> PostFormAsync(string path, params (string Key, string Value)[] fields) =>
        CreateClient().PostAsync(path, Form(fields));

    public Task<HttpResponseMessage> PostFormAsync(string path, AuthenticationHeaderValue authorization, params (string Key, string Value)[] fields)
    {
        var http = CreateClient();
        http.DefaultRequestHeaders.Authorization = authorization;
        return http.PostAsync(path, Form(fields));
    }

    public static async Task<JsonObject> JsonAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())?.AsObject()
        ?? throw new AssertionException($"{(int)response.StatusCode}: not a JSON object");

    /// <summary>
    /// A user's tokens from the password grant. First-party scopes only (admin:*, account:*, or none) are asked
    /// for without a client, as the CLI does (client_id authly-cli); anything else through <see cref="ScriptClientAsync"/>,
    /// as a script must since the client-less grant yields first-party scopes only.
    /// </summary>
    public async Task<JsonObject> PasswordTokenAsync(string username = AdminUsername, string password = AdminPassword, string? scope = null)
    {
        var fields = new List<(string, string)> { ("grant_type", "password"), ("username", username), ("password", password) };
        if (scope is not null) fields.Add(("scope", scope));
        var firstParty = scope is null || Scopes.ScopeSet.Parse(scope).All(Scopes.UserScopePolicy.IsFirstParty);
        HttpResponseMessage response;
        if (firstParty) response = await PostFormAsync(TokenPath, fields.ToArray());
        else
        {
            var (id, secret) = await ScriptClientAsync();
            response = await PostFormAsync(TokenPath, Basic(id, secret), fields.ToArray());
        }
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(200), body);
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>Every non-admin scope a test user token may ask for; the script client is registered with these.</summary>
    public const string ScriptScopes = "openid profile email address phone offline_access read write introspect " +
        "database:read database:write cache:read cache:write vault:read vault:write";

    private readonly SemaphoreSlim _scriptClientLock = new(1, 1);
    private (string Id, string Secret)? _scriptClient;

    /// <summary>
    /// This app's confidential client for the password grant (and refresh) with <see cref="ScriptScopes"/>: the way a
    /// script or proxy user gets a token for non-first-party scopes. Registered once, on first use.
    /// </summary>
    public async Task<(string Id, string Secret)> ScriptClientAsync()
    {
        await _scriptClientLock.WaitAsync();
        try
        {
            if (_scriptClient is null)
            {
                var (id, secret) = await CreateConfidentialClientAsync(ScriptScopes, ["password", "refresh_token"]);
                _scriptClient = (id, secret!);
            }
            return _scriptClient.Value;
        }
        finally { _scriptClientLock.Release(); }
    }

    public async Task<string> AdminTokenAsync(string scope = "admin:clients:read admin:clients:write admin:scopes:read admin:scopes:write admin:users:read admin:users:write admin:system:read admin:system:write") =>
        (await PasswordTokenAsync(scope: scope))["access_token"]!.GetValue<string>();

    /// <summary>A client that sends an admin token with <paramref name="scope"/> (the admin API's callers).</summary>
    public async Task<HttpClient> AdminClientAsync(string scope) => BearerClient(await AdminTokenAsync(scope));

    public HttpClient BearerClient(string token)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>Creates a client through the admin API; returns (client_id, client_secret or null).</summary>
    public async Task<(string Id, string? Secret)> CreateClientAsync(object registration)
    {
        var http = BearerClient(await AdminTokenAsync("admin:clients:write"));
        var response = await http.PostAsJsonAsync(AdminClientsPath, registration);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(200), body);
        var json = JsonNode.Parse(body)!;
        return (json["client_id"]!.GetValue<string>(), json["client_secret"]?.GetValue<string>());
    }

    public Task<(string Id, string? Secret)> CreateConfidentialClientAsync(string scope = "read write", string[]? grants = null, string authMethod = "client_secret_basic") =>
        CreateClientAsync(new
        {
            client_name = "test client", client_type = "confidential", scope, token_endpoint_auth_method = authMethod,
            grant_types = grants ?? ["client_credentials", "refresh_token", "password"],
        });

    public static AuthenticationHeaderValue Basic(string id, string secret) =>
        new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(id)}:{Uri.EscapeDataString(secret)}")));

    /// <summary>A user row of its own, inserted directly so tests can set states the API has no shortcut for.</summary>
    public sealed record TestUser(Guid Id, string Username, string Password);

    // Same cheap Argon2id cost as the server under test; the server verifies any PHC cost.
    private static readonly Lazy<PasswordHasher> Hasher = new(() =>
        new PasswordHasher(new AuthlyOptions { DatabaseUrl = "", Argon2OpsLimit = 1, Argon2MemLimitKiB = 8192 }));

    public async Task<TestUser> CreateUserAsync(bool isActive = true, bool isVerified = true, bool isAdmin = false,
        bool requiresPasswordChange = false, string? username = null)
    {
        username ??= "user_" + Guid.NewGuid().ToString("N")[..12];
        var password = "Pw-" + Guid.NewGuid().ToString("N");
        await using var db = Database();
        await using var conn = await db.OpenConnectionAsync();
        var id = await conn.ExecuteScalarAsync<Guid>("""
            INSERT INTO users (username, email, password_hash, is_active, is_verified, is_admin, requires_password_change)
            VALUES (@Username, @Email, @Hash, @IsActive, @IsVerified, @IsAdmin, @RequiresPasswordChange)
            RETURNING id
            """, new
        {
            Username = username, Email = username + "@example.test", Hash = Hasher.Value.Hash(password),
            IsActive = isActive, IsVerified = isVerified, IsAdmin = isAdmin, RequiresPasswordChange = requiresPasswordChange,
        });
        return new TestUser(id, username, password);
    }

    /// <summary>
    /// The table contents bad input must never change, as one string (for the bad-input tests). users.last_login is left
    /// out: it records a proven password, which some bad-input cases present on purpose.
    /// </summary>
    public Task<string> StateSnapshotAsync() => SqlScalarAsync<string>("""
        SELECT concat_ws(' | ',
            (SELECT count(*) || ':' || md5(coalesce(string_agg((to_jsonb(u) - 'last_login')::text, ',' ORDER BY u.id), '')) FROM users u),
            (SELECT count(*) || ':' || md5(coalesce(string_agg(c::text, ',' ORDER BY c.id), '')) FROM clients c),
            (SELECT count(*) || ':' || md5(coalesce(string_agg(s::text, ',' ORDER BY s.id), '')) FROM scopes s),
            (SELECT count(*) FROM client_scopes),
            (SELECT count(*) || ':' || count(*) FILTER (WHERE revoked_at IS NOT NULL) FROM refresh_token_families),
            (SELECT count(*) || ':' || count(*) FILTER (WHERE rotated_at IS NOT NULL) FROM refresh_tokens),
            (SELECT count(*) FROM revoked_tokens),
            (SELECT count(*) FROM authorization_codes),
            (SELECT count(*) FROM consents),
            (SELECT count(*) FROM device_codes),
            (SELECT count(*) || ':' || count(*) FILTER (WHERE ended_at IS NOT NULL) FROM sessions),
            (SELECT count(*) FROM signing_keys),
            (SELECT count(*) FROM vault_providers),
            (SELECT count(*) FROM vault_entries),
            (SELECT count(*) FROM vault_entry_grants),
            (SELECT count(*) || ':' || count(*) FILTER (WHERE consumed_at IS NOT NULL) FROM pushed_authorization_requests),
            (SELECT count(*) FROM client_assertion_jtis))
        """);

    /// <summary>Runs one statement on this app's database (for states the API cannot reach, such as an expired row).</summary>
    public async Task<T> SqlScalarAsync<T>(string sql, object? args = null)
    {
        await using var db = Database();
        await using var conn = await db.OpenConnectionAsync();
        return (await conn.ExecuteScalarAsync<T>(sql, args))!;
    }

    public static string Str(JsonObject o, string key) => o[key]?.GetValue<string>() ?? throw new AssertionException($"no '{key}' in {o.ToJsonString()}");

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
}
