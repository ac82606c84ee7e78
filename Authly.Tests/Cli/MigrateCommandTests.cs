using System.Diagnostics;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Cli;

/// <summary>Smoke tests of the built `authly` executable: `authly migrate`.</summary>
[TestFixture, Category("Cli")]
public sealed class MigrateCommandTests
{
    /// <summary>Authly.Cli/bin/&lt;config&gt;/net10.0/authly.dll, built beside this assembly (same configuration).</summary>
    private static string CliDll()
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (framework, configuration) = (testDir.Name, testDir.Parent!.Name);
        var root = testDir.Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(root, "Authly.Cli", "bin", configuration, framework, "authly.dll");
        if (!File.Exists(dll)) Assert.Fail($"{dll} is missing: build the solution (dotnet build Authly.sln -c {configuration}) before running the CLI tests.");
        return dll;
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(CliDll());
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("DATABASE_URL");
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"authly {string.Join(' ', args)} did not exit within 90 s");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    [Test]
    public async Task Migrate_FreshDatabase_AppliesTheScriptsAndExitsZero_ThenIsUpToDate()
    {
        var url = DatabaseServer.Url(await DatabaseServer.CreateEmptyDatabaseAsync());

        var first = await RunAsync("migrate", "--database-url", url);
        var second = await RunAsync("migrate", "--database-url", url);

        Assert.Multiple(() =>
        {
            Assert.That(first.ExitCode, Is.EqualTo(0), first.Stderr);
            Assert.That(first.Stdout, Does.Contain("Applied").And.Contain("0001_initial_schema"));
            Assert.That(second.ExitCode, Is.EqualTo(0), second.Stderr);
            Assert.That(second.Stdout, Does.Contain("up to date"));
        });
    }

    [Test]
    public async Task Migrate_WithoutADatabaseUrl_ExitsTwoAndSaysWhatIsMissing()
    {
        var (code, _, stderr) = await RunAsync("migrate");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("DATABASE_URL").And.Contain("--database-url"));
    }

    [Test]
    public async Task Migrate_WithAMalformedUrl_FailsWithoutEchoingThePassword()
    {
        var (code, stdout, stderr) = await RunAsync("migrate", "--database-url", "postgresql://user:hunter2@host:notaport/db");
        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(stderr, Does.Contain("DATABASE_URL"));
        Assert.That(stdout + stderr, Does.Not.Contain("hunter2"));
    }

    [Test]
    public async Task Migrate_WhenTheServerIsUnreachable_FailsWithAnErrorLine()
    {
        // A port nothing listens on: bind one, note it, release it.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var (code, _, stderr) = await RunAsync("migrate", "--database-url", $"postgresql://u:p@127.0.0.1:{port}/db");

        Assert.That(code, Is.Not.EqualTo(0));
        Assert.That(stderr, Does.StartWith("error:"));
        Assert.That(stderr, Does.Not.Contain("   at "), "no stack trace");
    }
}
