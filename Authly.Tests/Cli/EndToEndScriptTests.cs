using System.Diagnostics;
using Authly.Tests.Cluster;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Cli;

/// <summary>
/// docker-standalone/bin/run-end-to-end-test as the guide spells it, `run-end-to-end-test comprehensive`, run for
/// real against a running `authly serve` (the image's embedded mode, on a test database).
/// </summary>
[TestFixture, Category("Cli")]
public sealed class EndToEndScriptTests
{
    [Test, Description("Issue 15: the documented argument 'comprehensive' runs the whole suite and every check passes")]
    public async Task RunEndToEndTest_Comprehensive_PassesEveryCheck()
    {
        var env = new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = DatabaseServer.Url(await TestServers.CreateDatabaseAsync()), ["AUTHLY_MODE"] = "embedded",
            ["REDIS_URL"] = null, ["AUTHLY_ADMIN_PASSWORD"] = AuthlyApp.AdminPassword, ["AUTHLY_ARGON2_OPSLIMIT"] = "1",
            ["AUTHLY_ARGON2_MEMLIMIT_KIB"] = "8192", ["LOG_LEVEL"] = "Warning", ["JWT_SECRET_KEY"] = null, ["JWT_REFRESH_SECRET_KEY"] = null,
        };
        await using var serve = await ServeProcess.StartAsync(env);
        var (exit, output) = await RunAsync(new Dictionary<string, string?> { ["AUTHLY_ADMIN_PASSWORD"] = AuthlyApp.AdminPassword },
            "comprehensive", "--url", serve.Url);
        Assert.That(exit, Is.Zero, output);
        Assert.That(output.TrimEnd().Split('\n')[^1], Does.Match(@"^[1-9][0-9]* passed, 0 failed$"), output);
    }

    [Test, Description("Issue 15: any other suite name is refused before anything is called, naming the one there is")]
    public async Task RunEndToEndTest_UnknownSuite_IsRefusedNamingComprehensive()
    {
        var (exit, output) = await RunAsync(new Dictionary<string, string?> { ["AUTHLY_ADMIN_PASSWORD"] = "unused" }, "basic", "--url", "http://127.0.0.1:9");
        Assert.That(exit, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("unknown argument 'basic'").And.Contain("'comprehensive'"));
        Assert.That(output, Does.Not.Contain("Authly end-to-end test against"), "nothing was called");
    }

    private static async Task<(int Exit, string Output)> RunAsync(IReadOnlyDictionary<string, string?> env, params string[] args)
    {
        var psi = new ProcessStartInfo(Path.Combine(AuthlyNode.RepoRoot(), "docker-standalone", "bin", "run-end-to-end-test"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env)
            if (v is null) psi.Environment.Remove(k); else psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        return (p.ExitCode, await stdout + await stderr);
    }
}
