using System.Text.Json.Nodes;
using Authly.Tests.Cli;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 15 §2 (AUTHLY_DEBUG_HTTP / AUTHLY_LOG_LEVEL=DEBUG): debug output ends up in CI logs and terminals an
/// attacker may read. A debug run of every CLI call that carries a secret (password login, refresh, client create,
/// regenerate-secret, logout's revocation) must print none of them: not the password, the access or refresh
/// tokens, the client secret, nor the Authorization header's value.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class CliDebugOutputAttacks
{
    [Test]
    public async Task DebugHttpRun_LeaksNoPasswordTokenOrClientSecret()
    {
        var port = AuthlyCli.FreePort();
        using var app = await AuthlyApp.StartOnKestrelAsync(port);
        var cli = new AuthlyCli($"http://127.0.0.1:{port}");
        var debug = new Dictionary<string, string?> { ["AUTHLY_DEBUG_HTTP"] = "true", ["AUTHLY_LOG_LEVEL"] = "DEBUG" };
        var stderr = new System.Text.StringBuilder();
        async Task<AuthlyCli.Result> Run(params string[] args)
        {
            var r = await cli.RunWithAsync(null, debug, args);
            Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
            stderr.Append(r.Stderr);
            return r;
        }

        await Run("admin", "auth", "login", "-u", AuthlyApp.AdminUsername, "-p", AuthlyApp.AdminPassword);
        var first = JsonNode.Parse(await File.ReadAllTextAsync(cli.TokenFile))!;
        await Run("admin", "auth", "refresh");
        var second = JsonNode.Parse(await File.ReadAllTextAsync(cli.TokenFile))!;
        var created = JsonNode.Parse((await Run("admin", "client", "create", "--name", "Leak check", "--output", "json")).Stdout)!;
        var id = created["client_id"]!.GetValue<string>();
        var regenerated = JsonNode.Parse((await Run("admin", "client", "regenerate-secret", id, "--confirm", "--output", "json")).Stdout)!;
        await Run("admin", "auth", "logout");

        var secrets = new[]
        {
            AuthlyApp.AdminPassword,
            first["access_token"]!.GetValue<string>(), first["refresh_token"]!.GetValue<string>(),
            second["access_token"]!.GetValue<string>(), second["refresh_token"]!.GetValue<string>(),
            created["client_secret"]!.GetValue<string>(), regenerated["client_secret"]!.GetValue<string>(),
        };
        var output = stderr.ToString();
        Assert.That(output, Does.Contain("debug: --> POST").And.Contain("/api/v1/oauth/token").And.Contain("[masked]"), "the debug run did print the calls");
        foreach (var secret in secrets) Assert.That(output, Does.Not.Contain(secret));
        Assert.That(output, Does.Not.Contain("Bearer ey"), "no Authorization header value");
    }
}
