using System.Diagnostics;
using System.Net;
using Authly.Tests.Cluster;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Cli;

/// <summary>
/// docker-standalone/bin/unlock-admin-account's fallback for a locked-out admin with no admin token: the lockout
/// lives in PostgreSQL (attempt_guards, issue 12), keyed by an HMAC the script computes with openssl exactly as
/// AttemptGuardStore does. Run for real against a locked account.
/// </summary>
[TestFixture, Category("Cli")]
public sealed class UnlockAdminAccountScriptTests
{
    // Characters a shell or a hex encoder could mangle.
    private const string Secret = "unlock test secret: 'quotes' $dollar %percent \\backslash ünïcode";

    [Test]
    public async Task LockedAdmin_WithoutAToken_IsUnlockedInTheDatabase_AndSignsInAgain()
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?>
        {
            ["JWT_SECRET_KEY"] = Secret, ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "3",
        });
        for (var i = 0; i < 3; i++)
            await app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", AuthlyApp.AdminUsername), ("password", "wrong"));
        var locked = await app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", AuthlyApp.AdminUsername),
            ("password", AuthlyApp.AdminPassword));
        Assume.That(locked.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "precondition: the admin is locked");

        var (exit, output) = await RunAsync("unlock-admin-account", new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = DatabaseServer.Url(app.DatabaseConnectionString), ["JWT_SECRET_KEY"] = Secret,
            ["AUTHLY_DATA_DIR"] = Path.Combine(Path.GetTempPath(), "authly-none-" + Guid.NewGuid().ToString("N")[..8]),
            ["AUTHLY_ADMIN_PASSWORD"] = null, ["AUTHLY_ADMIN_TOKEN"] = null, ["AUTHLY_URL"] = "http://127.0.0.1:9",
        });
        Assert.That(exit, Is.Zero, output);
        Assert.That(output, Does.Contain("Unlocked 'admin' in the database"));

        var after = await app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", AuthlyApp.AdminUsername),
            ("password", AuthlyApp.AdminPassword));
        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task WrongSecret_UnlocksNothing_AndSaysTheAccountWasNotLocked()
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?>
        {
            ["JWT_SECRET_KEY"] = Secret, ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "3",
        });
        for (var i = 0; i < 3; i++)
            await app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", AuthlyApp.AdminUsername), ("password", "wrong"));
        var (exit, output) = await RunAsync("unlock-admin-account", new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = DatabaseServer.Url(app.DatabaseConnectionString), ["JWT_SECRET_KEY"] = Secret + "x",
            ["AUTHLY_DATA_DIR"] = "/nonexistent", ["AUTHLY_ADMIN_PASSWORD"] = null, ["AUTHLY_ADMIN_TOKEN"] = null,
        });
        Assert.That(exit, Is.Zero, output);
        Assert.That(output, Does.Contain("'admin' was not locked"));
        var still = await app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", AuthlyApp.AdminUsername),
            ("password", AuthlyApp.AdminPassword));
        Assert.That(still.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "a wrong key deletes no one's row");
    }

    private static async Task<(int Exit, string Output)> RunAsync(string script, IReadOnlyDictionary<string, string?> env)
    {
        var psi = new ProcessStartInfo(Path.Combine(AuthlyNode.RepoRoot(), "docker-standalone", "bin", script))
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var (k, v) in env)
            if (v is null) psi.Environment.Remove(k); else psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (p.ExitCode, await stdout + await stderr);
    }
}
