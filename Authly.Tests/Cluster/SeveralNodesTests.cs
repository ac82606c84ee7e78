using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Authly.Security;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Cluster;

/// <summary>
/// ARCHITECTURE "State and scale": N server processes on one PostgreSQL and one Redis are one
/// Authly. Three real nodes behind nginx; each test talks to the nodes directly or through nginx.
/// </summary>
[TestFixture, Category("Cluster"), NonParallelizable]
public sealed class SeveralNodesTests
{
    private readonly List<AuthlyNode> _nodes = [];
    private NginxProxy _nginx = null!;
    private Dictionary<string, string> _env = null!;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var nginxPort = AuthlyNode.FreePort();
        _env = ClusterEnvironment.For(await TestServers.CreateDatabaseAsync(), $"http://127.0.0.1:{nginxPort}");
        _nodes.AddRange(await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => AuthlyNode.StartAsync(_env))));
        _nginx = await NginxProxy.StartAsync(_nodes.Select(n => n.Port), nginxPort);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        foreach (var node in _nodes) await node.DisposeAsync();
        if (_nginx is not null) await _nginx.DisposeAsync();
        _http.Dispose();
    }

    private async Task<JsonObject> PostAsync(string baseUrl, string path, params (string, string)[] form)
    {
        var response = await _http.PostAsync(baseUrl + path, AuthlyApp.Form(form));
        return await AuthlyApp.JsonAsync(response);
    }

    // The client-less password grant yields first-party scopes only (issue 11).
    private Task<JsonObject> AdminTokenAsync(string baseUrl, string scope = "account:read") =>
        PostAsync(baseUrl, "/api/v1/oauth/token", ("grant_type", "password"), ("username", AuthlyApp.AdminUsername),
            ("password", AuthlyApp.AdminPassword), ("scope", scope));

    private async Task<bool> ActiveOnAsync(AuthlyNode node, string token) =>
        (await PostAsync(node.Url, "/api/v1/oauth/introspect", ("token", token)))["active"]!.GetValue<bool>();

    [Test, Description("ARCHITECTURE: signing keys are shared rows, every node verifies every node's tokens")]
    public async Task AccessToken_IssuedByOneNode_IsActiveOnEveryOtherNode()
    {
        var token = AuthlyApp.Str(await AdminTokenAsync(_nodes[0].Url), "access_token");
        foreach (var node in _nodes) Assert.That(await ActiveOnAsync(node, token), Is.True, $"node {node.Port}");
    }

    [Test, Description("RFC 7009 §2.2 across nodes: a revocation on one node is seen by all within a second")]
    public async Task Revocation_OnOneNode_IsSeenByAllNodesWithinOneSecond()
    {
        var tokens = await AdminTokenAsync(_nodes[0].Url);
        var access = AuthlyApp.Str(tokens, "access_token");
        foreach (var node in _nodes) Assume.That(await ActiveOnAsync(node, access), Is.True, "precondition: active everywhere");

        var revoke = await _http.PostAsync(_nodes[1].Url + "/api/v1/oauth/revoke", AuthlyApp.Form(("token", access)));
        Assert.That(revoke.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        // The requirement is propagation within one second: poll until then, no longer.
        var deadline = Stopwatch.StartNew();
        var pending = _nodes.ToList();
        while (pending.Count > 0 && deadline.Elapsed < TimeSpan.FromSeconds(1))
        {
            foreach (var node in pending.ToList())
                if (!await ActiveOnAsync(node, access)) pending.Remove(node);
        }
        Assert.That(pending.Select(n => n.Port), Is.Empty, "nodes still reporting the revoked token active after 1 s");
    }

    [Test, Description("RFC 6749 §6 + OAuth 2.1 rotation across nodes: a refresh token rotated on one node is reuse on another")]
    public async Task RefreshTokenReuse_OnAnotherNode_RevokesTheFamilyEverywhere()
    {
        var first = await AdminTokenAsync(_nodes[0].Url);
        var refresh = AuthlyApp.Str(first, "refresh_token");
        var rotated = await PostAsync(_nodes[1].Url, "/api/v1/oauth/token", ("grant_type", "refresh_token"), ("refresh_token", refresh));
        Assert.That(rotated.ContainsKey("access_token"), Is.True, rotated.ToJsonString());
        // Past the retry window (AUTHLY_REFRESH_RETRY_GRACE_SECONDS, database clock): a replay is now reuse, not a retry.
        await using (var conn = new Npgsql.NpgsqlConnection(_env["DATABASE_URL"]))
            await Dapper.SqlMapper.ExecuteAsync(conn, "UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 hour' WHERE token_hash = @Hash",
                new { Hash = OpaqueToken.Hash(refresh) });
        var replay = await PostAsync(_nodes[2].Url, "/api/v1/oauth/token", ("grant_type", "refresh_token"), ("refresh_token", refresh));
        Assert.That(AuthlyApp.Str(replay, "error"), Is.EqualTo("invalid_grant"));
        var newer = await PostAsync(_nodes[0].Url, "/api/v1/oauth/token", ("grant_type", "refresh_token"), ("refresh_token", AuthlyApp.Str(rotated, "refresh_token")));
        Assert.That(AuthlyApp.Str(newer, "error"), Is.EqualTo("invalid_grant"), "the family was revoked by the replay");
    }

    [Test, Description("ARCHITECTURE: rotation keeps the previous key in the JWKS; every node picks up the new key")]
    public async Task KeyRotation_OnOneNode_IsPickedUpByAllNodes()
    {
        var admin = AuthlyApp.Str(await AdminTokenAsync(_nodes[0].Url, "admin:system:write admin:system:read"), "access_token");
        var before = AuthlyApp.Str(await AdminTokenAsync(_nodes[0].Url), "access_token");
        using var rotate = new HttpRequestMessage(HttpMethod.Post, _nodes[0].Url + "/admin/keys/rotate");
        rotate.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
        var response = await _http.SendAsync(rotate);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());

        var after = AuthlyApp.Str(await AdminTokenAsync(_nodes[0].Url), "access_token");
        var newKid = KidOf(after);
        Assert.That(newKid, Is.Not.EqualTo(KidOf(before)));
        foreach (var node in _nodes)
        {
            var jwks = JsonNode.Parse(await _http.GetStringAsync(node.Url + "/.well-known/jwks.json"))!["keys"]!.AsArray()
                .Select(k => k!["kid"]!.GetValue<string>()).ToList();
            Assert.That(jwks, Does.Contain(newKid).And.Contain(KidOf(before)), $"node {node.Port} JWKS");
            Assert.That(await ActiveOnAsync(node, after), Is.True, $"new-key token on node {node.Port}");
            Assert.That(await ActiveOnAsync(node, before), Is.True, $"old-key token still valid on node {node.Port}");
        }
    }

    private static string KidOf(string jwt) =>
        JsonNode.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(jwt.Split('.')[0]))!["kid"]!.GetValue<string>();

    [Test, Description("ARCHITECTURE: a node can die; only its in-flight requests may fail")]
    public async Task KillingOneNode_UnderBoundedLoad_LosesNoRequestBeyondThoseInFlight()
    {
        var token = AuthlyApp.Str(await AdminTokenAsync(_nginx.Url), "access_token");
        const int workers = 4;
        var ok = 0;
        var failed = 0;
        var stop = new CancellationTokenSource(TimeSpan.FromSeconds(6));
        var killAt = DateTime.UtcNow.AddSeconds(2);
        var victimIndex = _nodes.Count - 1;
        var victim = _nodes[victimIndex];
        var load = Enumerable.Range(0, workers).Select(async _ =>
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            for (var i = 0; i < 5_000 && !stop.IsCancellationRequested; i++)
            {
                try
                {
                    var r = await http.PostAsync(_nginx.Url + "/api/v1/oauth/introspect", AuthlyApp.Form(("token", token)));
                    var body = await r.Content.ReadAsStringAsync();
                    if (r.IsSuccessStatusCode && body.Contains("\"active\":true")) Interlocked.Increment(ref ok);
                    else Interlocked.Increment(ref failed);
                }
                catch (HttpRequestException) { Interlocked.Increment(ref failed); }
                catch (TaskCanceledException) { Interlocked.Increment(ref failed); }
            }
        }).ToList();
        while (DateTime.UtcNow < killAt) await Task.Delay(50);
        victim.Kill();
        await Task.WhenAll(load);
        await victim.DisposeAsync();
        // Leave the cluster whole for the other tests: a new process on the same port.
        _nodes[victimIndex] = await AuthlyNode.StartAsync(_env, victim.Port);

        Assert.That(ok, Is.GreaterThan(100), "the load ran");
        // At most one request per worker can have been in flight on the killed node.
        Assert.That(failed, Is.LessThanOrEqualTo(workers), $"{failed} failed of {ok + failed}");
    }
}

/// <summary>Two nodes with tight limits: the rate limit and the lockout are global, not per node.</summary>
[TestFixture, Category("Cluster"), NonParallelizable]
public sealed class SharedCountersAcrossNodesTests
{
    private readonly List<AuthlyNode> _nodes = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var env = ClusterEnvironment.For(await TestServers.CreateDatabaseAsync(), "http://127.0.0.1:1");
        env["RATE_LIMIT_MAX_REQUESTS"] = "6";
        env["RATE_LIMIT_WINDOW_SECONDS"] = "300";
        env["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "3";
        _nodes.AddRange(await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => AuthlyNode.StartAsync(env))));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        foreach (var node in _nodes) await node.DisposeAsync();
        _http.Dispose();
    }

    [Test, Description("Rate limit shared through Redis: 3 + 3 requests on two nodes use up one budget of 6")]
    public async Task RateLimit_IsSharedByAllNodes()
    {
        for (var i = 0; i < 6; i++)
        {
            var r = await _http.PostAsync(_nodes[i % 2].Url + "/api/v1/oauth/revoke", AuthlyApp.Form(("token", "unknown-" + i)));
            Assert.That(r.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"request {i + 1}");
        }
        foreach (var node in _nodes)
        {
            var limited = await _http.PostAsync(node.Url + "/api/v1/oauth/revoke", AuthlyApp.Form(("token", "one-more")));
            Assert.That((int)limited.StatusCode, Is.EqualTo(429), $"node {node.Port}");
            Assert.That(limited.Headers.RetryAfter, Is.Not.Null);
        }
    }

    [Test, Description("Lockout shared through Redis: failures on different nodes add up")]
    public async Task Lockout_IsSharedByAllNodes()
    {
        var user = "nobody-" + OpaqueToken.New(6);
        (string, string)[] Login(string password) => [("grant_type", "password"), ("username", user), ("password", password)];
        // Token requests are rate limited too (6 per window), so this test uses the introspect-free path: 3 failures, 1 check.
        await _http.PostAsync(_nodes[0].Url + "/api/v1/oauth/token", AuthlyApp.Form(Login("wrong-1")));
        await _http.PostAsync(_nodes[1].Url + "/api/v1/oauth/token", AuthlyApp.Form(Login("wrong-2")));
        await _http.PostAsync(_nodes[0].Url + "/api/v1/oauth/token", AuthlyApp.Form(Login("wrong-3")));
        var locked = await _http.PostAsync(_nodes[1].Url + "/api/v1/oauth/token", AuthlyApp.Form(Login("wrong-4")));
        var body = await AuthlyApp.JsonAsync(locked);
        Assert.That((int)locked.StatusCode, Is.EqualTo(429), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "error_description"), Is.EqualTo("Too many failed attempts. Account temporarily locked."));
    }
}

internal static class ClusterEnvironment
{
    public static Dictionary<string, string> For(string connectionString, string issuer) => new()
    {
        ["DATABASE_URL"] = connectionString,
        ["REDIS_URL"] = TestServers.RedisUrl,
        ["AUTHLY_REDIS_PREFIX"] = $"c{Guid.NewGuid():N}:",
        ["JWT_SECRET_KEY"] = OpaqueToken.New(32),
        ["JWT_REFRESH_SECRET_KEY"] = OpaqueToken.New(32),
        ["AUTHLY_MODE"] = "testing",
        ["AUTHLY_ISSUER"] = issuer,
        ["AUTHLY_ADMIN_PASSWORD"] = AuthlyApp.AdminPassword,
        ["AUTHLY_TRUSTED_PROXIES"] = "127.0.0.1",
        ["RATE_LIMIT_MAX_REQUESTS"] = "0",
        ["AUTHLY_ARGON2_OPSLIMIT"] = "1",
        ["AUTHLY_ARGON2_MEMLIMIT_KIB"] = "8192",
        ["LOG_LEVEL"] = "Warning",
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
    };
}
