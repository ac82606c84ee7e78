using Authly.Embedded;
using Microsoft.Extensions.Logging;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Proxy;
using Authly.Server.Proxy;
using Authly.Tests.Infrastructure;
using StackExchange.Redis;

namespace Authly.Tests.Proxies;

/// <summary>POST /command and the RESP listener end to end: a real Authly, the proxy, the test Redis, and redis-cli.</summary>
[TestFixture]
public sealed class RedisProxyTests
{
    private ProxyFixture _f = null!;
    private ConnectionMultiplexer _direct = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _f = await ProxyFixture.StartAsync(postgres: false);
        // CLIENT LIST / KILL below are admin commands, which StackExchange.Redis 2.x and later refuse without AllowAdmin.
        var direct = Storage.RedisUrl.Parse(TestServers.RedisUrl);
        direct.AllowAdmin = true;
        _direct = await ConnectionMultiplexer.ConnectAsync(direct);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _direct.Dispose();
        await _f.DisposeAsync();
    }

    private static string Str(JsonObject o, string key) => AuthlyApp.Str(o, key);

    [Test]
    public async Task Rfc6750_3_1_NoToken_Is401()
    {
        var response = await _f.CommandAsync(null, "GET", "k");
        var body = await ProxyFixture.ExpectAsync(response, 401);
        Assert.That(Str(body, "error"), Is.EqualTo("Missing or invalid Authorization header"));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer realm="));
        var bad = await ProxyFixture.ExpectAsync(await _f.CommandAsync("nope", "GET", "k"), 401);
        Assert.That(Str(bad, "error"), Is.EqualTo("Invalid or expired token"));
    }

    [Test]
    public async Task SetThenGet_StoresUnderTheUsersPrefix()
    {
        var (user, token) = await _f.UserTokenAsync("cache:read cache:write");
        var set = await ProxyFixture.ExpectAsync(await _f.CommandAsync(token, "set", "greeting", "hello"), 200);
        Assert.That(Str(set, "result"), Is.EqualTo("OK"));
        Assert.That(Str(set, "command"), Is.EqualTo("SET"));
        Assert.That(Str(set, "user"), Is.EqualTo(user.Username));
        var get = await ProxyFixture.ExpectAsync(await _f.CommandAsync(token, "GET", "greeting"), 200);
        Assert.That(Str(get, "result"), Is.EqualTo("hello"));
        Assert.That((string?)await _direct.GetDatabase().StringGetAsync($"user:{user.Id}:greeting"), Is.EqualTo("hello"));
        Assert.That(await _direct.GetDatabase().KeyExistsAsync("greeting"), Is.False);
    }

    [Test]
    public async Task KeyIsolation_TwoUsersNeverSeeEachOthersKeys()
    {
        var (alice, aliceToken) = await _f.UserTokenAsync("cache:read cache:write");
        var (_, bobToken) = await _f.UserTokenAsync("cache:read cache:write");
        await ProxyFixture.ExpectAsync(await _f.CommandAsync(aliceToken, "SET", "secret", "alice"), 200);

        var direct = await ProxyFixture.ExpectAsync(await _f.CommandAsync(bobToken, "GET", "secret"), 200);
        Assert.That(direct["result"], Is.Null);
        var spelled = await ProxyFixture.ExpectAsync(await _f.CommandAsync(bobToken, "GET", $"user:{alice.Id}:secret"), 200);
        Assert.That(spelled["result"], Is.Null);
        var multi = await ProxyFixture.ExpectAsync(await _f.CommandAsync(bobToken, "MGET", "secret", $"user:{alice.Id}:secret"), 200);
        Assert.That(multi["result"]!.AsArray().All(v => v is null), Is.True);
        var deleted = await ProxyFixture.ExpectAsync(await _f.CommandAsync(bobToken, "DEL", "secret", $"user:{alice.Id}:secret"), 200);
        Assert.That(deleted["result"]!.GetValue<long>(), Is.EqualTo(0));
        await ProxyFixture.ExpectAsync(await _f.CommandAsync(bobToken, "RENAME", $"user:{alice.Id}:secret", "mine"), 400);
        var scan = await ProxyFixture.ExpectAsync(await _f.CommandAsync(bobToken, "SCAN", "0", "COUNT", "1000"), 200);
        Assert.That(scan["result"]![1]!.AsArray(), Is.Empty);

        var still = await ProxyFixture.ExpectAsync(await _f.CommandAsync(aliceToken, "GET", "secret"), 200);
        Assert.That(Str(still, "result"), Is.EqualTo("alice"));
        var own = await ProxyFixture.ExpectAsync(await _f.CommandAsync(aliceToken, "SCAN", "0", "COUNT", "1000"), 200);
        Assert.That(own["result"]![1]!.AsArray().Select(k => k!.GetValue<string>()), Is.EquivalentTo(new[] { "secret" }));
    }

    [Test]
    public async Task Write_WithOnlyCacheRead_Is403()
    {
        var (_, token) = await _f.UserTokenAsync("cache:read");
        var response = await _f.CommandAsync(token, "SET", "k", "v");
        var body = await ProxyFixture.ExpectAsync(response, 403);
        Assert.That(Str(body, "error"), Does.Contain("cache:write"));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("insufficient_scope"));
    }

    [Test]
    public async Task Read_WithOnlyCacheWrite_Is403()
    {
        var (_, token) = await _f.UserTokenAsync("cache:write");
        var body = await ProxyFixture.ExpectAsync(await _f.CommandAsync(token, "GET", "k"), 403);
        Assert.That(Str(body, "error"), Does.Contain("cache:read"));
    }

    [TestCase("FLUSHALL")]
    [TestCase("FLUSHDB")]
    [TestCase("KEYS", "*")]
    [TestCase("CONFIG", "GET", "*")]
    [TestCase("EVAL", "return 1", "0")]
    [TestCase("MIGRATE", "h", "1", "k", "0", "1")]
    [TestCase("PUBLISH", "ch", "m")]
    [TestCase("SUBSCRIBE", "ch")]
    [TestCase("CLIENT", "LIST")]
    [TestCase("DBSIZE")]
    [TestCase("SHUTDOWN")]
    [TestCase("DEBUG", "SLEEP", "0")]
    [TestCase("SELECT", "1")]
    public async Task RefusedCommands_Are403AndNeverReachRedis(string command, params string[] args)
    {
        var (_, token) = await _f.UserTokenAsync("cache:read cache:write");
        var marker = "marker:" + Guid.NewGuid();
        await _direct.GetDatabase().StringSetAsync(marker, "1");
        var body = await ProxyFixture.ExpectAsync(await _f.CommandAsync(token, command, args.Cast<object>().ToArray()), 403);
        Assert.That(Str(body, "error"), Does.Contain("not allowed"));
        Assert.That(await _direct.GetDatabase().KeyExistsAsync(marker), Is.True);
    }

    [TestCase("{}", "'command' is required")]
    [TestCase("{\"command\":\"GET\",\"args\":\"k\"}", "'args' must be an array")]
    [TestCase("{\"command\":\"GET\",\"args\":[{\"a\":1}]}", "strings and numbers")]
    [TestCase("{\"command\":\"GET\",\"args\":[]}", "Wrong number of arguments")]
    [TestCase("{\"command\":\"SET\",\"args\":[\"k\",\"v\",\"EX\",\"-1\"]}", "")]
    public async Task BadBody_Is400(string json, string expected)
    {
        var (_, token) = await _f.UserTokenAsync("cache:read cache:write");
        using var request = new HttpRequestMessage(HttpMethod.Post, _f.Redis!.Url + "/command") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var body = await ProxyFixture.ExpectAsync(await _f.SendAsync(request), 400);
        Assert.That(Str(body, "error"), Does.Contain(expected));
    }

    [Test]
    public async Task RevokedToken_IsRefusedWithinASecond()
    {
        var (_, token) = await _f.UserTokenAsync("cache:read");
        await ProxyFixture.ExpectAsync(await _f.CommandAsync(token, "GET", "k"), 200);
        Assert.That((int)(await _f.RevokeAsync(token)).StatusCode, Is.EqualTo(200));
        _f.Clock.Advance(ProxyTokenValidator.PositiveCacheFor + TimeSpan.FromMilliseconds(1));
        await ProxyFixture.ExpectAsync(await _f.CommandAsync(token, "GET", "k"), 401);
    }

    [Test]
    public async Task ProxyConnectionsKilled_NextCommandStillWorks()
    {
        var (_, token) = await _f.UserTokenAsync("cache:read cache:write");
        await ProxyFixture.ExpectAsync(await _f.CommandAsync(token, "SET", "k", "v"), 200);
        // The proxy names its connections authly-proxy: end every one of them, as a Redis restart would.
        var db = _direct.GetDatabase();
        var list = (string)(await db.ExecuteAsync("CLIENT", "LIST"))!;
        // The id is read by pattern: over RESP3 the reply is a verbatim string whose first line starts "txt:id=…".
        var ids = list.Split('\n').Where(l => l.Contains(" name=authly-proxy "))
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"(?:^|[\s:])id=(\d+)").Groups[1].Value).ToList();
        Assert.That(ids, Has.All.Match(@"^\d+$"), list);
        Assert.That(ids, Is.Not.Empty);
        foreach (var id in ids) await db.ExecuteAsync("CLIENT", "KILL", "ID", id);
        var get = await ProxyFixture.ExpectAsync(await _f.CommandAsync(token, "GET", "k"), 200);
        Assert.That(Str(get, "result"), Is.EqualTo("v"));
    }

    // ---- the RESP listener with redis-cli ----

    private static string RedisCli() =>
        new[] { "/usr/bin/redis-cli", "/usr/local/bin/redis-cli" }.FirstOrDefault(File.Exists)
        ?? throw new AssertionException("redis-cli is not installed (apt-get install redis-tools)");

    /// <summary>redis-cli against the proxy's RESP listener, logged in with the token when one is given.</summary>
    private Task<(int Exit, string Out, string Err)> CliAsync(string? token, params string[] args) =>
        RedisCliAsync(_f.Redis!.WirePort!.Value, [.. token is null ? [] : new[] { "--no-auth-warning", "-a", token }, .. args]);

    private static async Task<(int Exit, string Out, string Err)> RedisCliAsync(int port, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(RedisCli()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-h", "127.0.0.1", "-p", port.ToString() }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
        return (p.ExitCode, (await stdout).Trim(), (await stderr).Trim());
    }

    [Test]
    public async Task RedisCli_AuthWithToken_SetGetUnderTheUsersPrefix()
    {
        var (user, token) = await _f.UserTokenAsync("cache:read cache:write");
        Assert.That((await CliAsync(token, "SET", "cli-key", "from redis-cli")).Out, Is.EqualTo("OK"));
        Assert.That((await CliAsync(token, "GET", "cli-key")).Out, Is.EqualTo("from redis-cli"));
        Assert.That((await CliAsync(token, "INCR", "counter")).Out, Is.EqualTo("1"));
        Assert.That((string?)await _direct.GetDatabase().StringGetAsync($"user:{user.Id}:cli-key"), Is.EqualTo("from redis-cli"));
    }

    [Test]
    public async Task RedisCli_RefusedCommandAndMissingScope_AreNoperm()
    {
        var (_, token) = await _f.UserTokenAsync("cache:read");
        Assert.That((await CliAsync(token, "FLUSHALL")).Out, Does.StartWith("NOPERM").And.Contain("not allowed"));
        Assert.That((await CliAsync(token, "SET", "a", "b")).Out, Does.StartWith("NOPERM").And.Contain("cache:write"));
        Assert.That((await CliAsync(token, "KEYS", "*")).Out, Does.StartWith("NOPERM"));
    }

    [Test]
    public async Task RedisCli_BadTokenOrNone_IsRefused()
    {
        var bad = await CliAsync("not-a-token", "GET", "k");
        Assert.That(bad.Out + bad.Err, Does.Contain("WRONGPASS").Or.Contain("NOAUTH"));
        var none = await CliAsync(null, "GET", "k");
        Assert.That(none.Out + none.Err, Does.Contain("NOAUTH"));
    }

    [Test]
    public async Task Resp_RevokedTokenStopsWorkingOnAnOpenConnection()
    {
        var (_, token) = await _f.UserTokenAsync("cache:read");
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _f.Redis!.WirePort!.Value);
        var stream = tcp.GetStream();
        var reader = new RespReader(stream);
        async Task<RespValue> Send(params string[] words)
        {
            await stream.WriteAsync(RespWriter.Command(words.Select(Encoding.UTF8.GetBytes).ToArray()));
            return (await reader.ReadAsync(CancellationToken.None))!;
        }
        Assert.That((await Send("AUTH", token)).Text, Is.EqualTo("OK"));
        Assert.That((await Send("GET", "x")).Kind, Is.EqualTo(RespKind.Null));
        Assert.That((int)(await _f.RevokeAsync(token)).StatusCode, Is.EqualTo(200));
        _f.Clock.Advance(ProxyTokenValidator.PositiveCacheFor + TimeSpan.FromMilliseconds(1));
        var after = await Send("GET", "x");
        Assert.That(after.Kind, Is.EqualTo(RespKind.Error));
        Assert.That(after.Text, Does.StartWith("NOAUTH"));
    }

    [Test]
    public async Task Metrics_CountRequestsByTransportAndOutcome_WithoutNamingAnyone()
    {
        var (user, token) = await _f.UserTokenAsync("cache:read");
        await ProxyFixture.ExpectAsync(await _f.CommandAsync(token, "GET", "m"), 200);
        await ProxyFixture.ExpectAsync(await _f.CommandAsync(token, "SET", "m", "v"), 403);
        Assert.That((await CliAsync(token, "GET", "m")).Exit, Is.Zero);
        using var http = new HttpClient();
        var text = await http.GetStringAsync(_f.Redis!.Url + "/metrics");
        Assert.That(text, Does.Contain("# TYPE authly_proxy_requests_total counter"));
        Assert.That(text, Does.Match("authly_proxy_requests_total\\{outcome=\"ok\",proxy=\"redis\",transport=\"http\"\\} [1-9]"));
        Assert.That(text, Does.Match("authly_proxy_requests_total\\{outcome=\"forbidden\",proxy=\"redis\",transport=\"http\"\\} [1-9]"));
        Assert.That(text, Does.Match("authly_proxy_requests_total\\{outcome=\"ok\",proxy=\"redis\",transport=\"resp\"\\} [1-9]"));
        Assert.That(text, Does.Contain("authly_proxy_request_duration_seconds_count"));
        Assert.That(text, Does.Not.Contain(user.Id.ToString()).And.Not.Contain(user.Username));
    }

    [Test]
    public async Task Resp_BeforeAuth_OnlySmallCommandsAreRead_AfterAuthLargeValuesWork()
    {
        var (_, token) = await _f.UserTokenAsync("cache:read cache:write");
        var big = new string('v', 100 * 1024);

        using (var anonymous = new TcpClient())
        {
            await anonymous.ConnectAsync(IPAddress.Loopback, _f.Redis!.WirePort!.Value);
            var stream = anonymous.GetStream();
            await stream.WriteAsync(RespWriter.Command([Encoding.UTF8.GetBytes("AUTH"), Encoding.UTF8.GetBytes(big)]));
            var reader = new RespReader(stream);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Assert.That(await reader.ReadAsync(timeout.Token), Is.Null, "the connection is closed, nothing of the 100 KiB is buffered");
        }

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _f.Redis!.WirePort!.Value);
        var s = tcp.GetStream();
        var r = new RespReader(s);
        async Task<RespValue> Send(params string[] words)
        {
            await s.WriteAsync(RespWriter.Command(words.Select(Encoding.UTF8.GetBytes).ToArray()));
            return (await r.ReadAsync(CancellationToken.None))!;
        }
        Assert.That((await Send("AUTH", token)).Text, Is.EqualTo("OK"));
        Assert.That((await Send("SET", "big", big)).Text, Is.EqualTo("OK"));
        Assert.That((await Send("GET", "big")).Text, Is.EqualTo(big));
    }

    // ---- a real Redis restart ----

    [Test]
    public async Task RedisRestart_ProxyRecoversWithoutARestartOfItsOwn()
    {
        var port = Cluster.AuthlyNode.FreePort();
        var dir = Directory.CreateTempSubdirectory("authly-proxy-redis").FullName;
        var redis = await StartBareRedisAsync(port, dir);
        try
        {
            await using var proxy = await ProxyServer.StartAsync("redis", new ProxyOptions
            {
                AuthlyUrl = AuthlyApp.Issuer, RedisUrl = $"redis://127.0.0.1:{port}",
            }, _f.Authly.CreateClient(), _f.Clock, LogLevel.Warning);
            var (_, token) = await _f.UserTokenAsync("cache:read cache:write");
            await ProxyFixture.ExpectAsync(await _f.PostAsync(proxy.Url + "/command", token, new JsonObject { ["command"] = "SET", ["args"] = new JsonArray("a", "1") }), 200);

            redis.Kill();
            await redis.WaitForExitAsync();
            var down = await ProxyFixture.ExpectAsync(await _f.PostAsync(proxy.Url + "/command", token, new JsonObject { ["command"] = "GET", ["args"] = new JsonArray("a") }), 503);
            Assert.That(Str(down, "error"), Is.EqualTo("Cache unavailable"));

            redis = await StartBareRedisAsync(port, dir);
            var up = await ProxyFixture.ExpectAsync(await _f.PostAsync(proxy.Url + "/command", token, new JsonObject { ["command"] = "SET", ["args"] = new JsonArray("a", "2") }), 200);
            Assert.That(Str(up, "result"), Is.EqualTo("OK"));
        }
        finally
        {
            if (!redis.HasExited) redis.Kill();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public async Task RedisAclUserWithoutClientCommands_IsServed()
    {
        var port = Cluster.AuthlyNode.FreePort();
        var dir = Directory.CreateTempSubdirectory("authly-proxy-redis").FullName;
        using var redis = await StartBareRedisAsync(port, dir);
        try
        {
            // A managed Redis often gives its users an ACL without CLIENT; the proxy names its connections with it.
            Assert.That((await RedisCliAsync(port, ["ACL", "SETUSER", "proxy", "on", ">proxy-pw", "~*", "+@all", "-client"])).Out, Is.EqualTo("OK"));
            Assert.That((await RedisCliAsync(port, ["ACL", "SETUSER", "default", "off"])).Out, Is.EqualTo("OK"));
            await using var proxy = await ProxyServer.StartAsync("redis", new ProxyOptions { AuthlyUrl = AuthlyApp.Issuer, RedisUrl = $"redis://proxy:proxy-pw@127.0.0.1:{port}" },
                _f.Authly.CreateClient(), _f.Clock, LogLevel.Warning);
            var (_, token) = await _f.UserTokenAsync("cache:read cache:write");
            var set = await ProxyFixture.ExpectAsync(await _f.PostAsync(proxy.Url + "/command", token, new JsonObject { ["command"] = "SET", ["args"] = new JsonArray("a", "1") }), 200);
            Assert.That(Str(set, "result"), Is.EqualTo("OK"));
        }
        finally
        {
            redis.Kill();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A password-less redis-server of a test's own on <paramref name="port"/>, accepting connections when this returns.</summary>
    private static async Task<Process> StartBareRedisAsync(int port, string dir)
    {
        var redis = Process.Start(new ProcessStartInfo(EmbeddedRedis.FindBinary(), $"--port {port} --bind 127.0.0.1 --save \"\" --appendonly no --dir {dir}")
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
        await ChildProcess.WaitForPortAsync(port, redis, "redis-server", TimeSpan.FromSeconds(10), () => "", CancellationToken.None);
        return redis;
    }
}
