using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Cli;

/// <summary>
/// Issue 15 §2: the original Authly CLI guide's examples, run as written (with `authly` for `python -m authly`)
/// through the built CLI against a real server on Kestrel, and what each must do.
/// </summary>
[TestFixture, Category("Cli")]
public sealed class GuideExamplesTests
{
    private AuthlyApp _app = null!;
    private string _url = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var port = AuthlyCli.FreePort();
        _url = $"http://127.0.0.1:{port}";
        _app = await AuthlyApp.StartOnKestrelAsync(port);
    }

    [OneTimeTearDown] public void Stop() => _app.Dispose();

    private async Task<AuthlyCli> LoggedInAsync()
    {
        var cli = new AuthlyCli(_url);
        var r = await cli.RunAsync("admin", "auth", "login", "--username", AuthlyApp.AdminUsername, "--password", AuthlyApp.AdminPassword);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        return cli;
    }

    private static JsonNode Json(AuthlyCli.Result r)
    {
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        return JsonNode.Parse(r.Stdout)!;
    }

    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..8];

    [Test]
    public async Task ScopeCreate_WithNameOption_CreatesTheScope_AndANameStartingWithDash_IsAUsageError()
    {
        var cli = await LoggedInAsync();
        var name = Unique("read");
        var created = await cli.RunAsync("admin", "scope", "create", "--name", name, "--description", "Read access to user data");
        Assert.That(created.ExitCode, Is.EqualTo(0), created.ToString());
        Assert.That(Json(await cli.RunAsync("admin", "scope", "show", name, "--output", "json"))["description"]!.GetValue<string>(),
            Is.EqualTo("Read access to user data"));

        var positional = Unique("orders:");
        Assert.That((await cli.RunAsync("admin", "scope", "create", positional)).ExitCode, Is.EqualTo(0), "the positional form stays");

        foreach (var args in new[] { new[] { "--name", "--description", "x" }, ["--name=-x"], ["--", "-x"], [], ["a", "--name", "b"] })
        {
            var r = await cli.RunAsync(["admin", "scope", "create", .. args]);
            Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
            Assert.That(r.Stderr, Does.StartWith("error:"));
        }
        var all = Json(await cli.RunAsync("admin", "scope", "list", "--show-inactive", "--limit", "1000", "--output", "json"))["scopes"]!.AsArray();
        Assert.That(all.Select(s => s!["scope_name"]!.GetValue<string>()), Has.None.StartsWith("-").And.None.EqualTo("a").And.None.EqualTo("b"),
            "a refused create changes nothing");

        var client = await cli.RunAsync("admin", "client", "create", "--name", "--type", "public");
        Assert.That(client.ExitCode, Is.EqualTo(2), client.ToString());
    }

    [Test]
    public async Task ClientCreate_WithRepeatedScopeAndMetadata_StoresThem_AndListJson_HasClientsAndTotals()
    {
        var cli = await LoggedInAsync();
        var created = Json(await cli.RunAsync("admin", "client", "create", "--name", "Enterprise App", "--type", "confidential",
            "--redirect-uri", "https://enterprise.com/oauth/callback", "--scope", "read", "--scope", "write",
            "--client-uri", "https://enterprise.com", "--logo-uri", "https://enterprise.com/logo.png", "--tos-uri", "https://enterprise.com/tos",
            "--policy-uri", "https://enterprise.com/privacy", "--contacts", "admin@enterprise.com", "--output", "json"));
        var id = created["client_id"]!.GetValue<string>();

        var shown = Json(await cli.RunAsync("admin", "client", "show", id, "--output", "json"));
        Assert.Multiple(() =>
        {
            Assert.That(shown["scope"]!.GetValue<string>(), Is.EqualTo("read write"));
            Assert.That(shown["logo_uri"]!.GetValue<string>(), Is.EqualTo("https://enterprise.com/logo.png"));
            Assert.That(shown["tos_uri"]!.GetValue<string>(), Is.EqualTo("https://enterprise.com/tos"));
            Assert.That(shown["policy_uri"]!.GetValue<string>(), Is.EqualTo("https://enterprise.com/privacy"));
            Assert.That(shown["contacts"]!.AsArray().Select(c => c!.GetValue<string>()), Is.EqualTo(new[] { "admin@enterprise.com" }));
        });

        var updated = await cli.RunAsync("admin", "client", "update", id, "--name", "Updated Portal Name", "--logo-uri", "https://enterprise.com/new-logo.png");
        Assert.That(updated.ExitCode, Is.EqualTo(0), updated.ToString());
        Assert.That(Json(await cli.RunAsync("admin", "client", "show", id, "--output", "json"))["logo_uri"]!.GetValue<string>(),
            Is.EqualTo("https://enterprise.com/new-logo.png"));

        Assert.That((await cli.RunAsync("admin", "client", "delete", id, "--confirm")).ExitCode, Is.EqualTo(0));
        Assert.That((await cli.RunAsync("admin", "client", "create", "--name", "Still active")).ExitCode, Is.EqualTo(0), "two rows, so a page of one has a next");
        var active = Json(await cli.RunAsync("admin", "client", "list", "--output", "json"));
        var withInactive = Json(await cli.RunAsync("admin", "client", "list", "--show-inactive", "--limit", "1", "--output", "json"));
        Assert.Multiple(() =>
        {
            Assert.That(active["clients"]!.AsArray().Select(c => c!["client_id"]!.GetValue<string>()), Does.Not.Contain(id));
            Assert.That(active["total_count"]!.GetValue<long>(), Is.EqualTo(active["clients"]!.AsArray().Count));
            Assert.That(withInactive["clients"]!.AsArray(), Has.Count.EqualTo(1));
            Assert.That(withInactive["total_count"]!.GetValue<long>(), Is.GreaterThan(active["total_count"]!.GetValue<long>()), "the deactivated client counts");
            Assert.That(withInactive["page_info"]!["has_next"]!.GetValue<bool>(), Is.True);
            Assert.That(withInactive["page_info"]!["limit"]!.GetValue<int>(), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task AdminApiUrl_IsAnAliasOfApiUrl_AndTwoDifferentUrls_AreRefused()
    {
        var cli = await LoggedInAsync();
        var alias = await cli.RunWithAsync(null, new Dictionary<string, string?> { ["AUTHLY_API_URL"] = null, ["AUTHLY_ADMIN_API_URL"] = _url },
            "admin", "scope", "list", "--output", "json");
        Assert.That(Json(alias)["scopes"], Is.InstanceOf<JsonArray>());
        var info = await cli.RunWithAsync(null, new Dictionary<string, string?> { ["AUTHLY_API_URL"] = null, ["AUTHLY_ADMIN_API_URL"] = "http://127.0.0.1:1" },
            "admin", "auth", "info");
        Assert.That(info.Stdout, Does.Contain("http://127.0.0.1:1 (from AUTHLY_ADMIN_API_URL)"), info.ToString());

        var both = await cli.RunWithAsync(null, new Dictionary<string, string?> { ["AUTHLY_ADMIN_API_URL"] = "http://127.0.0.1:1" }, "admin", "scope", "list");
        Assert.That(both.ExitCode, Is.EqualTo(5), both.ToString());
        Assert.That(both.Stderr, Does.Contain("AUTHLY_API_URL").And.Contain("AUTHLY_ADMIN_API_URL").And.Contain("set only one"));
    }

    [Test]
    public async Task DebugHttp_PrintsMethodUrlStatusAndDuration()
    {
        var cli = await LoggedInAsync();
        foreach (var env in new[] { ("AUTHLY_DEBUG_HTTP", "true"), ("AUTHLY_LOG_LEVEL", "DEBUG") })
        {
            var r = await cli.RunWithAsync(null, new Dictionary<string, string?> { [env.Item1] = env.Item2 }, "admin", "client", "list");
            Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
            Assert.That(r.Stderr, Does.Contain($"debug: --> GET {_url}/admin/clients").And.Match(@"debug: <-- 200 OK GET \S+ \(\d+ ms\)"), r.ToString());
        }
        var quiet = await cli.RunAsync("admin", "client", "list");
        Assert.That(quiet.Stderr, Does.Not.Contain("debug:"));
    }

    [Test]
    public async Task RegenerateSecret_WithoutConfirm_InAScript_RefusesAndSaysConfirm()
    {
        var cli = await LoggedInAsync();
        var id = Json(await cli.RunAsync("admin", "client", "create", "--name", "Regen", "--output", "json"))["client_id"]!.GetValue<string>();
        var r = await cli.RunAsync("admin", "client", "regenerate-secret", id);
        Assert.That(r.ExitCode, Is.EqualTo(5), r.ToString());
        Assert.That(r.Stderr, Does.Contain("--confirm"));
        Assert.That(r.Stdout, Does.Not.Contain("client_secret"));
    }
}
