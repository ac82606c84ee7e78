using System.Diagnostics;
using System.Text.Json.Nodes;
using Authly.Tests.Cluster;

namespace Authly.Tests.Cli;

/// <summary>`authly proxy postgres|redis` as a user runs it: settings checked before anything starts, then a running proxy.</summary>
[TestFixture, Category("Cli")]
public sealed class ProxyCliTests
{
    private static readonly Dictionary<string, string?> NoTargets = new()
    {
        ["DATABASE_URL"] = null, ["REDIS_URL"] = null, ["AUTHLY_PROXY_DATABASE_URL"] = null, ["AUTHLY_PROXY_REDIS_URL"] = null,
    };

    [Test]
    public async Task Postgres_WithoutADatabase_ExitsTwoAndSaysWhatToSet()
    {
        var r = await new AuthlyCli("http://127.0.0.1:1").RunWithAsync(null, NoTargets, "proxy", "postgres");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr, Does.Contain("AUTHLY_PROXY_DATABASE_URL, DATABASE_URL or --database-url"));
    }

    [Test]
    public async Task Postgres_WithoutARole_ExitsTwoAndSaysWhatToCreate()
    {
        // Issue 11 finding 7: without --role every statement ran with the login's rights.
        var r = await new AuthlyCli("http://127.0.0.1:1").RunWithAsync(null, new Dictionary<string, string?>(NoTargets) { ["AUTHLY_PROXY_DB_ROLE"] = null },
            "proxy", "postgres", "--database-url", "postgresql://u:p@127.0.0.1:1/db");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr, Does.Contain("--role / AUTHLY_PROXY_DB_ROLE is not set").And.Contain("CREATE ROLE authly_app NOLOGIN"));
    }

    [TestCase("--role", "Robert'); DROP TABLE x;--", "--role")]
    [TestCase("--admin-scope", "two words", "--admin-scope")]
    [TestCase("--authly-url", "ftp://x", "AUTHLY_URL")]
    [TestCase("--max-rows", "0", "--max-rows")]
    public async Task Postgres_BadSetting_ExitsTwoNamingIt(string option, string value, string named)
    {
        var r = await new AuthlyCli("http://127.0.0.1:1").RunWithAsync(null, NoTargets,
            "proxy", "postgres", "--database-url", "postgresql://u:p@127.0.0.1:1/db", option, value);
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr, Does.Contain(named));
    }

    [Test]
    public async Task Redis_BadUrl_ExitsTwo()
    {
        var r = await new AuthlyCli("http://127.0.0.1:1").RunWithAsync(null, NoTargets, "proxy", "redis", "--redis-url", "http://nope");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr, Does.Contain("--redis-url"));
    }

    [Test]
    public async Task Redis_Starts_PrintsItsUrls_AndAnswersHealth()
    {
        var (port, wire) = (AuthlyNode.FreePort(), AuthlyNode.FreePort());
        var cli = new AuthlyCli("http://127.0.0.1:1");
        using var process = Process.Start(cli.StartInfo(NoTargets, "proxy", "redis", "--redis-url", TestServers.RedisUrl,
            "--port", port.ToString(), "--wire-port", wire.ToString()))!;
        try
        {
            var banner = await ReadUntilAsync(process, "Press Ctrl-C");
            Assert.That(banner.ToString(), Does.Contain($"POST http://127.0.0.1:{port}/command").And.Contain($"-p {wire}"));
            using var http = new HttpClient();
            var health = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/health"))!;
            Assert.That(health["status"]!.GetValue<string>(), Is.EqualTo("healthy"));
            var unauthorized = await http.PostAsync($"http://127.0.0.1:{port}/command", new StringContent("{\"command\":\"GET\",\"args\":[\"k\"]}"));
            Assert.That((int)unauthorized.StatusCode, Is.EqualTo(401));
            using var withToken = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/command")
            {
                Content = new StringContent("{\"command\":\"GET\",\"args\":[\"k\"]}", System.Text.Encoding.UTF8, "application/json"),
            };
            withToken.Headers.Authorization = new("Bearer", "never-logged-token-value");
            // Authly is not running here: the proxy cannot check the token and fails closed.
            Assert.That((int)(await http.SendAsync(withToken)).StatusCode, Is.EqualTo(503));

            // SIGTERM (docker stop, systemd) ends it cleanly with exit code 0.
            Assert.That(Kill(process.Id, 15), Is.Zero);
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await process.WaitForExitAsync(exit.Token);
            Assert.That(process.ExitCode, Is.Zero);
            var log = banner + await process.StandardOutput.ReadToEndAsync();
            Assert.That(log, Does.Contain("Authly.Proxy.Audit").And.Contain("/command 401").And.Contain("/command 503"));
            Assert.That(log, Does.Not.Contain("never-logged-token-value"));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Test]
    public async Task Redis_OnANonLoopbackAddress_WarnsThatTokensTravelUnencrypted()
    {
        var port = AuthlyNode.FreePort();
        using var process = Process.Start(new AuthlyCli("http://127.0.0.1:1").StartInfo(NoTargets, "proxy", "redis", "--redis-url", TestServers.RedisUrl,
            "--host", "0.0.0.0", "--port", port.ToString(), "--no-wire"))!;
        try
        {
            // The console logger writes from its own thread: the warning may come just before or after the banner.
            var output = await ReadUntilAsync(process, "Press Ctrl-C", "plain HTTP");
            Assert.That(output.ToString(), Does.Contain("plain HTTP on 0.0.0.0").And.Contain("TLS"));
            Assert.That(output.ToString(), Does.Contain("Wire    off"));
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>The proxy's standard output up to the line where every one of <paramref name="expected"/> has appeared (30 s at most).</summary>
    private static async Task<System.Text.StringBuilder> ReadUntilAsync(Process process, params string[] expected)
    {
        var output = new System.Text.StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!expected.All(e => output.ToString().Contains(e)))
        {
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line is null) Assert.Fail("authly proxy exited: " + output + await process.StandardError.ReadToEndAsync());
            output.AppendLine(line);
        }
        return output;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
