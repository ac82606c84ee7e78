using System.Diagnostics;
using Authly.Mfa;
using Microsoft.Extensions.DependencyInjection;
using Authly.Tests.Cluster;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Cli;

/// <summary>
/// Last-admin recovery (issue 16): `authly reset-mfa USER --confirm` on DATABASE_URL removes every second factor
/// (TOTP, recovery codes, passkeys) and says so on stderr; docker-standalone's `unlock-admin-account --reset-mfa`
/// does it through that command. Run for real against a server's database.
/// </summary>
[TestFixture, Category("Cli"), NonParallelizable]
public sealed class ResetMfaCommandTests
{
    private const string Secret = "reset-mfa test secret, long enough for the server";
    private AuthlyApp _app = null!;
    private readonly TestClock _clock = new(DateTimeOffset.UtcNow);

    [OneTimeSetUp]
    public async Task StartAsync() => _app = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["JWT_SECRET_KEY"] = Secret });

    [OneTimeTearDown]
    public void Stop() => _app.Dispose();

    private Task<Guid> AdminIdAsync() => _app.SqlScalarAsync<Guid>("SELECT id FROM users WHERE username = @U", new { U = AuthlyApp.AdminUsername });

    /// <summary>Gives the admin all three kinds of factor.</summary>
    private async Task<Guid> AdminWithFactorsAsync()
    {
        var id = await AdminIdAsync();
        await _app.Services.GetRequiredService<SecondFactors>().ResetAsync(id, CancellationToken.None); // from the other test
        await _app.EnrolTotpAsync(id, _clock);
        await _app.RecoveryCodesAsync(id);
        using var key = await _app.RegisterPasskeyAsync(id);
        Assert.That(await FactorRowsAsync(id), Is.EqualTo(12), "precondition: 1 TOTP, 10 recovery codes, 1 passkey");
        return id;
    }

    private Task<long> FactorRowsAsync(Guid id) => _app.SqlScalarAsync<long>("""
        SELECT (SELECT count(*) FROM mfa_totp WHERE user_id = @Id) + (SELECT count(*) FROM mfa_recovery_codes WHERE user_id = @Id)
             + (SELECT count(*) FROM passkeys WHERE user_id = @Id)
        """, new { Id = id });

    private static async Task<(int Exit, string Output)> RunAsync(string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string?> env)
    {
        var psi = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env)
            if (v is null) psi.Environment.Remove(k); else psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        return (p.ExitCode, await stdout + await stderr);
    }

    [Test, Description("Issue 16: authly reset-mfa on DATABASE_URL removes TOTP, recovery codes and passkeys, loudly; without --confirm it removes nothing")]
    public async Task ResetMfa_OnDatabaseUrl_RemovesEveryFactor_OnlyWithConfirm()
    {
        var id = await AdminWithFactorsAsync();
        var env = new Dictionary<string, string?> { ["DATABASE_URL"] = DatabaseServer.Url(_app.DatabaseConnectionString), ["JWT_SECRET_KEY"] = Secret };

        var (refused, refusedOutput) = await RunAsync("dotnet", [AuthlyCli.Dll(), "reset-mfa", AuthlyApp.AdminUsername], env);
        Assert.That(refused, Is.EqualTo(2), refusedOutput);
        Assert.That(refusedOutput, Does.Contain("--confirm"));
        Assert.That(await FactorRowsAsync(id), Is.EqualTo(12), "bad input changes nothing");

        var (exit, output) = await RunAsync("dotnet", [AuthlyCli.Dll(), "reset-mfa", AuthlyApp.AdminUsername, "--confirm"], env);
        Assert.That(exit, Is.Zero, output);
        Assert.That(output, Does.Contain("WARNING").And.Contain("REMOVED"));
        Assert.That(await FactorRowsAsync(id), Is.Zero);
    }

    [Test, Description("Issue 16: docker-standalone's unlock-admin-account --reset-mfa resets the admin's factors through authly reset-mfa, with a warning")]
    public async Task UnlockAdminAccountScript_WithResetMfa_RemovesTheAdminsFactors()
    {
        var id = await AdminWithFactorsAsync();
        // The image has `authly` on the PATH; here the built CLI stands in for it.
        var cli = Path.Combine(Path.GetTempPath(), "authly-cli-" + Guid.NewGuid().ToString("N")[..8]);
        await File.WriteAllTextAsync(cli, $"#!/bin/sh\nexec dotnet '{AuthlyCli.Dll()}' \"$@\"\n");
        File.SetUnixFileMode(cli, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            var (exit, output) = await RunAsync(Path.Combine(AuthlyNode.RepoRoot(), "docker-standalone", "bin", "unlock-admin-account"),
                [AuthlyApp.AdminUsername, "--database-only", "--reset-mfa"], new Dictionary<string, string?>
                {
                    ["DATABASE_URL"] = DatabaseServer.Url(_app.DatabaseConnectionString), ["JWT_SECRET_KEY"] = Secret, ["AUTHLY_CLI_BIN"] = cli,
                    ["AUTHLY_DATA_DIR"] = "/nonexistent", ["AUTHLY_ADMIN_PASSWORD"] = null, ["AUTHLY_ADMIN_TOKEN"] = null,
                });
            Assert.That(exit, Is.Zero, output);
            Assert.That(output, Does.Contain("WARNING: unlock-admin-account --reset-mfa").And.Contain("REMOVED"));
            Assert.That(await FactorRowsAsync(id), Is.Zero);
        }
        finally
        {
            File.Delete(cli);
        }
    }
}
