using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Authly.Security;
using Authly.Tests.Cluster;
using Authly.Tests.Infrastructure;
using Npgsql;

namespace Authly.Tests.Faults;

/// <summary>
/// Authly nodes as one cluster on a new, migrated database reached through a <see cref="FaultyTcpProxy"/> and on a
/// <see cref="PrivateRedis"/> with one shared AUTHLY_REDIS_PREFIX, so faults can be injected for real. Nodes are
/// in-process <see cref="AuthlyApp"/>s (which can get an injected clock) or real processes (<see cref="AuthlyNode"/>,
/// where a process must die). Every node has the same issuer and JWT secrets, so tokens are valid on every node.
/// Test helpers (<see cref="Sql{T}"/>, users) reach PostgreSQL directly, past the proxy's faults.
/// </summary>
public sealed class FaultCluster : IAsyncDisposable
{
    private readonly List<AuthlyApp> _apps = [];
    private readonly List<AuthlyNode> _processes = [];
    private readonly Dictionary<string, string> _settings;

    public FaultyTcpProxy Database { get; }
    public PrivateRedis Redis { get; }
    /// <summary>The database without the proxy in between (for the test's own reads and writes).</summary>
    public string DirectConnectionString { get; }
    /// <summary>DATABASE_URL as the nodes get it: through the proxy, with short timeouts so faults answer in seconds.</summary>
    public string DatabaseUrl { get; }

    private FaultCluster(FaultyTcpProxy database, PrivateRedis redis, string direct, Dictionary<string, string> settings)
    {
        (Database, Redis, DirectConnectionString, _settings) = (database, redis, direct, settings);
        var b = new NpgsqlConnectionStringBuilder(direct);
        DatabaseUrl = $"postgresql://{Uri.EscapeDataString(b.Username!)}:{Uri.EscapeDataString(b.Password ?? "")}@127.0.0.1:{database.Port}/{b.Database}" +
                      "?connect_timeout=2&command_timeout=2";
    }

    /// <param name="settings">environment settings every node gets (e.g. AUTHLY_LOCKOUT_MAX_ATTEMPTS)</param>
    public static async Task<FaultCluster> StartAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var direct = await TestServers.CreateDatabaseAsync();
        var b = new NpgsqlConnectionStringBuilder(direct);
        var proxy = FaultyTcpProxy.Start(b.Host!, b.Port);
        var redis = await PrivateRedis.StartAsync();
        var all = ClusterEnvironment.For(direct, AuthlyApp.Issuer);
        all["AUTHLY_ADMIN_USERNAME"] = AuthlyApp.AdminUsername;
        foreach (var (k, v) in settings ?? new Dictionary<string, string>()) all[k] = v;
        var cluster = new FaultCluster(proxy, redis, direct, all);
        all["DATABASE_URL"] = cluster.DatabaseUrl;
        all["REDIS_URL"] = redis.Url;
        return cluster;
    }

    private Dictionary<string, string> Settings(IReadOnlyDictionary<string, string>? extra)
    {
        var s = new Dictionary<string, string>(_settings);
        foreach (var (k, v) in extra ?? new Dictionary<string, string>()) s[k] = v;
        return s;
    }

    /// <summary>An in-process node; <paramref name="clock"/> is its TimeProvider (e.g. a <see cref="ShiftedClock"/>).</summary>
    public async Task<AuthlyApp> StartAppAsync(TimeProvider? clock = null, IReadOnlyDictionary<string, string>? extra = null)
    {
        var settings = Settings(extra).ToDictionary(kv => kv.Key, kv => (string?)kv.Value);
        settings.Remove("ASPNETCORE_ENVIRONMENT");
        var app = await AuthlyApp.StartOnDatabaseAsync(DirectConnectionString, settings, clock);
        lock (_apps) _apps.Add(app);
        return app;
    }

    /// <summary>A real server process, for faults that kill or signal a node.</summary>
    public async Task<AuthlyNode> StartProcessAsync(IReadOnlyDictionary<string, string>? extra = null)
    {
        var node = await AuthlyNode.StartAsync(Settings(extra));
        lock (_processes) _processes.Add(node);
        return node;
    }

    public async Task<T> Sql<T>(string sql, object? args = null)
    {
        await using var db = NpgsqlDataSource.Create(DirectConnectionString);
        await using var conn = await db.OpenConnectionAsync();
        return (await Dapper.SqlMapper.ExecuteScalarAsync<T>(conn, sql, args))!;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _processes) await p.DisposeAsync();
        foreach (var a in _apps) await a.DisposeAsync();
        await Database.DisposeAsync();
        await Redis.DisposeAsync();
    }

    // ---- what the fault tests ask of any node, in-process or not ----

    /// <summary>Writes a measured figure to the test output, for docs/operations.md.</summary>
    public static void Record(string what, TimeSpan took) => TestContext.Out.WriteLine($"[faults] {what}: {took.TotalMilliseconds:0} ms");

    public static void Record(string what) => TestContext.Out.WriteLine($"[faults] {what}");

    public static async Task<(int Status, JsonObject Body, HttpResponseMessage Response)> PostAsync(HttpClient http, string path,
        AuthenticationHeaderValue? auth, params (string, string)[] form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = AuthlyApp.Form(form) };
        request.Headers.Authorization = auth;
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonObject body;
        try { body = JsonNode.Parse(text) as JsonObject ?? new JsonObject { ["raw"] = text }; }
        catch (System.Text.Json.JsonException) { body = new JsonObject { ["raw"] = text }; }
        return ((int)response.StatusCode, body, response);
    }

    public static async Task<bool> ActiveAsync(HttpClient http, string token)
    {
        var (status, body, _) = await PostAsync(http, "/api/v1/oauth/introspect", null, ("token", token));
        Assert.That(status, Is.EqualTo(200), $"introspection answered {status}: {body.ToJsonString()}");
        return body["active"]!.GetValue<bool>();
    }

    /// <summary>Polls until none of <paramref name="tokens"/> is active on any of <paramref name="nodes"/>; returns those still active.</summary>
    public static async Task<List<string>> StillActiveAfterAsync(TimeSpan within, IEnumerable<(string Name, HttpClient Http)> nodes, IEnumerable<string> tokens)
    {
        var pending = nodes.SelectMany(n => tokens.Select(t => (n.Name, n.Http, Token: t))).ToList();
        var watch = Stopwatch.StartNew();
        await Eventually.TrueAsync(async () =>
        {
            foreach (var p in pending.ToList())
                if (!await ActiveAsync(p.Http, p.Token)) pending.Remove(p);
            return pending.Count == 0;
        }, within);
        return pending.Select(p => $"{p.Name}: token …{p.Token[^8..]}").ToList();
    }

    /// <summary>A client-less (first-party) password grant: access + refresh token of a new family.</summary>
    public static async Task<JsonObject> SignInAsync(HttpClient http, string username, string password)
    {
        var (status, body, _) = await PostAsync(http, "/api/v1/oauth/token", null,
            ("grant_type", "password"), ("username", username), ("password", password), ("scope", "account:read"));
        Assert.That(status, Is.EqualTo(200), body.ToJsonString());
        return body;
    }

    public static Task<(int Status, JsonObject Body, HttpResponseMessage Response)> RefreshAsync(HttpClient http, string refreshToken) =>
        PostAsync(http, "/api/v1/oauth/token", null, ("grant_type", "refresh_token"), ("refresh_token", refreshToken));

    /// <summary>RFC 6749 §5.2 + issue 12: a dependency outage is 503 temporarily_unavailable with Retry-After, never 500.</summary>
    public static void AssertTemporarilyUnavailable(string what, (int Status, JsonObject Body, HttpResponseMessage Response) answer)
    {
        Assert.Multiple(() =>
        {
            Assert.That(answer.Status, Is.EqualTo(503), $"{what}: {answer.Body.ToJsonString()}");
            Assert.That(answer.Response.Headers.RetryAfter, Is.Not.Null, $"{what}: Retry-After");
            Assert.That(answer.Body["error"]?.GetValue<string>(), Is.EqualTo("temporarily_unavailable"), $"{what}: {answer.Body.ToJsonString()}");
        });
    }

    public static string NewUsername() => "f_" + OpaqueToken.New(6).ToLowerInvariant().Replace('-', 'x').Replace('_', 'y');
}
