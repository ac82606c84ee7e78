using System.Diagnostics;
using System.Text;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Cli;

/// <summary>`authly serve` as a subprocess on its own database: --seed and the access log (path only, never the query).</summary>
[TestFixture, Category("Cli")]
public sealed class ServeCliTests
{
    private static async Task<(int ExitCode, string Output)> ServeAsync(string[] args, Func<string, Task> whileRunning)
    {
        var url = DatabaseServer.Url(await TestServers.CreateDatabaseAsync());
        var port = AuthlyCli.FreePort();
        var psi = new AuthlyCli($"http://127.0.0.1:{port}").StartInfo(new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = url, ["REDIS_URL"] = null, ["AUTHLY_MODE"] = "testing", ["AUTHLY_ADMIN_PASSWORD"] = "Admin-Password-123",
            ["AUTHLY_ARGON2_OPSLIMIT"] = "1", ["AUTHLY_ARGON2_MEMLIMIT_KIB"] = "8192", ["LOG_LEVEL"] = "Warning", ["AUTHLY_ACCESS_LOG"] = null,
        }, ["serve", "--port", port.ToString(), .. args]);
        using var process = Process.Start(psi)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                if (process.HasExited) Assert.Fail($"authly serve exited with {process.ExitCode}:\n{output}");
                try { if ((await http.GetAsync($"http://127.0.0.1:{port}/health/live")).IsSuccessStatusCode) break; }
                catch (HttpRequestException) { }
                if (DateTime.UtcNow > deadline) Assert.Fail($"authly serve did not answer within 60 s:\n{output}");
                await Task.Delay(200);
            }
            await Task.Delay(300); // the banner and the seed line follow StartAsync
            await whileRunning($"http://127.0.0.1:{port}");
            await Task.Delay(300);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        lock (output) return (process.ExitCode, output.ToString());
    }

    [Test, Description("Issue 15 §2: the original CLI guide's 'serve --workers 4' and '--log-level debug' (lower case)")]
    public async Task Serve_GuideWorkersAndLowerCaseLogLevel_AreAccepted_AndWorkersSaysItIsNotNeeded()
    {
        var (_, output) = await ServeAsync(["--workers", "4", "--log-level", "debug"], _ => Task.CompletedTask);
        Assert.That(output, Does.Contain("--workers 4: not needed here").And.Contain("Kestrel is multi-threaded"), output);
    }

    [Test]
    public async Task Serve_WithSeed_CreatesTheDemoClient_AndLogsRequestsWithoutQueryStrings()
    {
        var (_, output) = await ServeAsync(["--seed"], async url =>
        {
            using var http = new HttpClient();
            await http.GetAsync(url + "/health?code=very-secret-code");
        });
        Assert.That(output, Does.Contain("Seeded: public demo client"));
        Assert.That(output, Does.Contain("GET /health 200"), output);
        Assert.That(output, Does.Not.Contain("very-secret-code"));
    }

    [Test]
    public async Task Serve_WithNoAccessLog_LogsNoRequests()
    {
        var (_, output) = await ServeAsync(["--no-access-log"], async url =>
        {
            using var http = new HttpClient();
            await http.GetAsync(url + "/health");
        });
        Assert.That(output, Does.Not.Contain("GET /health"));
    }

    [TestCase("AUTHLY_EMBEDDED_PG_PORT", "5432x")]
    [TestCase("AUTHLY_EMBEDDED_REDIS_PORT", "-1")]
    [TestCase("AUTHLY_EMBEDDED_PG_PORT", "70000")]
    public async Task Serve_WithBadEmbeddedPortInTheEnvironment_IsAUsageError_AndStartsNothing(string variable, string value)
    {
        var cli = new AuthlyCli("http://127.0.0.1:1");
        var dataDir = Path.Combine(Path.GetTempPath(), "authly-badport-" + Guid.NewGuid().ToString("N"));
        var r = await cli.RunWithAsync(null, new Dictionary<string, string?> { [variable] = value }, "serve", "--embedded", "--data-dir", dataDir);
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr, Does.StartWith("error:").And.Contain(variable));
        Assert.That(Directory.Exists(dataDir), Is.False, "no embedded service was started");
    }

    [Test]
    public async Task Serve_WithBadLogLevel_IsAUsageError()
    {
        var cli = new AuthlyCli("http://127.0.0.1:1");
        var r = await cli.RunAsync("serve", "--log-level", "Loud");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr, Does.StartWith("error:"));
    }
}
