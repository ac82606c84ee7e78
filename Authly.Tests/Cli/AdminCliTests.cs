using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Cli;

/// <summary>
/// The built `authly admin …` against a real server on Kestrel: login, JSON output, the client
/// secret it prints, every exit code, the token file's permissions, refresh, logout, and the hidden
/// password prompt on a pseudo-terminal.
/// </summary>
[TestFixture, Category("Cli")]
public sealed class AdminCliTests
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

    private async Task<AuthlyCli> LoggedInAsync(string? scope = null)
    {
        var cli = new AuthlyCli(_url);
        var args = new List<string> { "admin", "auth", "login", "-u", AuthlyApp.AdminUsername, "-p", AuthlyApp.AdminPassword };
        if (scope is not null) args.AddRange(["--scope", scope]);
        var result = await cli.RunAsync(args.ToArray());
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        return cli;
    }

    private static JsonNode ParseJson(AuthlyCli.Result r)
    {
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        try { return JsonNode.Parse(r.Stdout)!; }
        catch (System.Text.Json.JsonException e) { throw new AssertionException($"stdout is not JSON ({e.Message}): {r}"); }
    }

    private static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N")[..8];

    [Test]
    public async Task Login_WithShowToken_PrintsTokensExpiryAndScopes_AndKeepsThemInA0600File()
    {
        var cli = new AuthlyCli(_url);
        var r = await cli.RunAsync("admin", "auth", "login", "-u", AuthlyApp.AdminUsername, "-p", AuthlyApp.AdminPassword, "--show-token");

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var saved = JsonNode.Parse(await File.ReadAllTextAsync(cli.TokenFile))!;
        Assert.Multiple(() =>
        {
            Assert.That(r.Stdout, Does.Contain("access_token:  " + saved["access_token"]!.GetValue<string>()));
            Assert.That(r.Stdout, Does.Contain("refresh_token: " + saved["refresh_token"]!.GetValue<string>()));
            Assert.That(r.Stdout, Does.Contain("expires_at:").And.Contain("scope:").And.Contain("admin:clients:write"));
            Assert.That(r.Stdout + r.Stderr, Does.Not.Contain(AuthlyApp.AdminPassword));
            Assert.That(File.GetUnixFileMode(cli.TokenFile), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), "tokens.json is 0600");
            Assert.That(File.GetUnixFileMode(cli.ConfigDir), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute), "the directory is 0700");
        });
    }

    [Test]
    public async Task Login_WithoutShowToken_PrintsNoToken()
    {
        var cli = await LoggedInAsync();
        var r = await cli.RunAsync("admin", "auth", "login", "-u", AuthlyApp.AdminUsername, "-p", AuthlyApp.AdminPassword);
        var token = JsonNode.Parse(await File.ReadAllTextAsync(cli.TokenFile))!["access_token"]!.GetValue<string>();
        Assert.That(r.Stdout + r.Stderr, Does.Not.Contain(token));
    }

    [Test]
    public async Task Login_ReadsUsernameAndPasswordFromStdin_WhenNotATerminal()
    {
        var cli = new AuthlyCli(_url);
        var r = await cli.RunWithAsync($"{AuthlyApp.AdminUsername}\n{AuthlyApp.AdminPassword}\n", null, "admin", "auth", "login");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Stdout + r.Stderr, Does.Not.Contain(AuthlyApp.AdminPassword));
        Assert.That(File.Exists(cli.TokenFile), Is.True);
    }

    [Test]
    public async Task Login_WrongPassword_ExitsTwo_WithOneErrorLine()
    {
        var cli = new AuthlyCli(_url);
        var r = await cli.RunAsync("admin", "auth", "login", "-u", AuthlyApp.AdminUsername, "-p", "wrong-password");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr.Trim(), Does.StartWith("error:").And.Contain("Incorrect username or password"));
        Assert.That(r.Stderr.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(File.Exists(cli.TokenFile), Is.False);
    }

    [Test, Description("The typed password is not echoed: the prompt reads keys without echo on a terminal")]
    public async Task Login_OnAPseudoTerminal_PromptsForThePasswordWithoutEchoingIt()
    {
        var cli = new AuthlyCli(_url);
        var (exitCode, output) = await cli.RunOnTerminalAsync("Password:", AuthlyApp.AdminPassword, "admin", "auth", "login", "-u", AuthlyApp.AdminUsername);

        Assert.That(exitCode, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("Password:").And.Contain("Logged in"));
        Assert.That(output, Does.Not.Contain(AuthlyApp.AdminPassword), "the typed password is not echoed");
        Assert.That(File.Exists(cli.TokenFile), Is.True);
    }

    [Test]
    public async Task Delete_OnATerminal_AsksForYes_AndAnythingElseCancels()
    {
        var cli = await LoggedInAsync();
        var name = Unique("tty:");
        Assert.That((await cli.RunAsync("admin", "scope", "create", name)).ExitCode, Is.EqualTo(0));

        var (no, noOutput) = await cli.RunOnTerminalAsync("Type 'yes'", "no", "admin", "scope", "delete", name);
        Assert.That(no, Is.EqualTo(5), noOutput);
        Assert.That((await cli.RunAsync("admin", "scope", "show", name)).ExitCode, Is.EqualTo(0), "still there");

        var (yes, yesOutput) = await cli.RunOnTerminalAsync("Type 'yes'", "yes", "admin", "scope", "delete", name);
        Assert.That(yes, Is.EqualTo(0), yesOutput);
        Assert.That((await cli.RunAsync("admin", "scope", "show", name)).ExitCode, Is.EqualTo(4));
    }

    [Test]
    public async Task ClientCreate_Json_GivesASecretThatWorksForClientCredentials_AndListShowsTheClient()
    {
        var cli = await LoggedInAsync();
        var name = Unique("cli-client-");
        var created = ParseJson(await cli.RunAsync("admin", "client", "create", "--name", name, "--grant-type", "client_credentials",
            "--scope", "openid", "--output", "json"));
        var (id, secret) = (created["client_id"]!.GetValue<string>(), created["client_secret"]!.GetValue<string>());

        using var http = new HttpClient();
        var token = await http.PostAsync(_url + "/api/v1/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = id, ["client_secret"] = secret,
        }));
        var tokenBody = await token.Content.ReadAsStringAsync();
        // client_secret_basic is the default method; try it if post is refused.
        if (token.StatusCode != HttpStatusCode.OK)
        {
            using var basic = new HttpRequestMessage(HttpMethod.Post, _url + "/api/v1/oauth/token")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }),
            };
            basic.Headers.Authorization = AuthlyApp.Basic(id, secret);
            token = await http.SendAsync(basic);
            tokenBody = await token.Content.ReadAsStringAsync();
        }
        Assert.That(token.StatusCode, Is.EqualTo(HttpStatusCode.OK), tokenBody);
        Assert.That(JsonNode.Parse(tokenBody)!["access_token"], Is.Not.Null);

        var list = ParseJson(await cli.RunAsync("admin", "client", "list", "--output", "json", "--limit", "1000"))["clients"]!.AsArray();
        Assert.That(list.Select(c => c!["client_id"]!.GetValue<string>()), Does.Contain(id));
        var listed = await cli.RunAsync("admin", "client", "list");
        Assert.That(listed.Stdout, Does.Contain("CLIENT ID").And.Contain(id));
        Assert.That(listed.Stdout + (await cli.RunAsync("admin", "client", "show", id)).Stdout, Does.Not.Contain(secret), "the secret is printed once");
    }

    [Test]
    public async Task ClientCreate_Table_PrintsTheSecretOnce()
    {
        var cli = await LoggedInAsync();
        var r = await cli.RunAsync("admin", "client", "create", "--name", Unique("t-"), "--grant-type", "client_credentials");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Stdout, Does.Contain("client_id:").And.Contain("client_secret:").And.Contain("shown only once"));
    }

    [Test]
    public async Task ExitCodes_CoverEveryCase()
    {
        var cli = await LoggedInAsync();
        var readOnly = await LoggedInAsync("admin:clients:read");
        var fresh = new AuthlyCli(_url);
        var unreachable = new AuthlyCli($"http://127.0.0.1:{AuthlyCli.FreePort()}");

        var notLoggedIn = await fresh.RunAsync("admin", "client", "list");
        var usage = await cli.RunAsync("admin", "client", "frobnicate");
        var forbidden = await readOnly.RunAsync("admin", "client", "create", "--name", "x", "--grant-type", "client_credentials");
        var notFound = await cli.RunAsync("admin", "client", "show", "no-such-client");
        var validation = await cli.RunAsync("admin", "scope", "create", "has space");
        var general = await unreachable.RunAsync("admin", "auth", "login", "-u", "a", "-p", "b");

        Assert.Multiple(() =>
        {
            Assert.That(notLoggedIn.ExitCode, Is.EqualTo(2), notLoggedIn.ToString());
            Assert.That(usage.ExitCode, Is.EqualTo(2), usage.ToString());
            Assert.That(forbidden.ExitCode, Is.EqualTo(3), forbidden.ToString());
            Assert.That(notFound.ExitCode, Is.EqualTo(4), notFound.ToString());
            Assert.That(validation.ExitCode, Is.EqualTo(5), validation.ToString());
            Assert.That(general.ExitCode, Is.EqualTo(1), general.ToString());
            foreach (var r in new[] { notLoggedIn, forbidden, notFound, validation, general })
            {
                Assert.That(r.Stderr, Does.StartWith("error: "), r.ToString());
                Assert.That(r.Stderr.Trim().Split('\n'), Has.Length.EqualTo(1), r.ToString());
                Assert.That(r.Stderr, Does.Not.Contain("   at "), "no stack trace");
            }
        });
    }

    [Test]
    public async Task Delete_WithoutConfirm_WhenStdinIsNotATerminal_RefusesWithExitFive_AndChangesNothing()
    {
        var cli = await LoggedInAsync();
        var name = Unique("del:");
        Assert.That((await cli.RunAsync("admin", "scope", "create", name)).ExitCode, Is.EqualTo(0));

        var refused = await cli.RunAsync("admin", "scope", "delete", name);
        Assert.That(refused.ExitCode, Is.EqualTo(5), refused.ToString());
        Assert.That(refused.Stderr, Does.Contain("--confirm"));
        Assert.That((await cli.RunAsync("admin", "scope", "show", name)).ExitCode, Is.EqualTo(0), "still there");

        Assert.That((await cli.RunAsync("admin", "scope", "delete", name, "--confirm")).ExitCode, Is.EqualTo(0));
        Assert.That((await cli.RunAsync("admin", "scope", "show", name)).ExitCode, Is.EqualTo(4));
    }

    [Test]
    public async Task Users_CreateListShowUpdateResetUnlockDelete()
    {
        var cli = await LoggedInAsync();
        var username = Unique("cliuser");
        var created = ParseJson(await cli.RunAsync("admin", "user", "create", "--username", username, "--email", username + "@example.test",
            "--generate-password", "--verified", "--output", "json"));
        Assert.That(created["temporary_password"]!.GetValue<string>(), Is.Not.Empty);

        var page = ParseJson(await cli.RunAsync("admin", "user", "list", "--username", username, "--output", "json"));
        Assert.That(page["total_count"]!.GetValue<long>(), Is.EqualTo(1));
        var shown = ParseJson(await cli.RunAsync("admin", "user", "show", username, "--output", "json"));
        Assert.That(shown["id"]!.GetValue<string>(), Is.EqualTo(created["id"]!.GetValue<string>()));
        Assert.That(shown.ToJsonString(), Does.Not.Contain("password_hash"));

        var updated = ParseJson(await cli.RunAsync("admin", "user", "update", username, "--given-name", "Lin", "--output", "json"));
        Assert.That(updated["given_name"]!.GetValue<string>(), Is.EqualTo("Lin"));

        var reset = await cli.RunAsync("admin", "user", "reset-password", username, "--password", "Brand-New-Pass-1", "--confirm");
        Assert.That(reset.ExitCode, Is.EqualTo(0), reset.ToString());
        Assert.That(reset.Stdout, Does.Not.Contain("Brand-New-Pass-1"));
        await _app.PasswordTokenAsync(username, "Brand-New-Pass-1");

        Assert.That((await cli.RunAsync("admin", "user", "unlock", username)).ExitCode, Is.EqualTo(0));
        var sessions = ParseJson(await cli.RunAsync("admin", "user", "sessions", username, "--output", "json"));
        Assert.That(sessions["sessions"], Is.Not.Null);
        Assert.That((await cli.RunAsync("admin", "user", "delete", username, "--confirm")).ExitCode, Is.EqualTo(0));
        Assert.That((await cli.RunAsync("admin", "user", "show", username)).ExitCode, Is.EqualTo(4));
    }

    [Test]
    public async Task UserCreate_WithoutPasswordOption_ReadsItFromStdin_AndNeverPrintsIt()
    {
        var cli = await LoggedInAsync();
        var username = Unique("stdin");
        var r = await cli.RunWithAsync("Piped-Password-42\n", null, "admin", "user", "create", "--username", username,
            "--email", username + "@example.test", "--verified");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(r.Stdout + r.Stderr, Does.Not.Contain("Piped-Password-42"));
        await _app.PasswordTokenAsync(username, "Piped-Password-42");
    }

    [Test]
    public async Task LastAdmin_DemotionThroughTheCli_IsAValidationError()
    {
        var cli = await LoggedInAsync();
        var r = await cli.RunAsync("admin", "user", "update", AuthlyApp.AdminUsername, "--admin", "false");
        Assert.That(r.ExitCode, Is.EqualTo(5), r.ToString());
        Assert.That(r.Stderr, Does.Contain("last active admin"));
    }

    [Test]
    public async Task ExpiredAccessToken_IsRefreshedBeforeTheCall()
    {
        var cli = await LoggedInAsync();
        var saved = JsonNode.Parse(await File.ReadAllTextAsync(cli.TokenFile))!.AsObject();
        var oldAccess = saved["access_token"]!.GetValue<string>();
        saved["expires_at"] = DateTimeOffset.UtcNow.AddSeconds(-5).ToString("O");
        await File.WriteAllTextAsync(cli.TokenFile, saved.ToJsonString());

        var r = await cli.RunAsync("admin", "scope", "list", "--output", "json");

        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        var after = JsonNode.Parse(await File.ReadAllTextAsync(cli.TokenFile))!;
        Assert.That(after["access_token"]!.GetValue<string>(), Is.Not.EqualTo(oldAccess));
        Assert.That(File.GetUnixFileMode(cli.TokenFile), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
    }

    [Test, Description("Rotated refresh tokens presented twice revoke the family: concurrent commands must refresh once")]
    public async Task ExpiredAccessToken_ConcurrentCommands_RefreshOnce_AndTheLoginSurvives()
    {
        var cli = await LoggedInAsync();
        var saved = JsonNode.Parse(await File.ReadAllTextAsync(cli.TokenFile))!.AsObject();
        saved["expires_at"] = DateTimeOffset.UtcNow.AddSeconds(-5).ToString("O");
        await File.WriteAllTextAsync(cli.TokenFile, saved.ToJsonString());

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => cli.RunAsync("admin", "scope", "list", "--output", "json")));
        Assert.That(results.Select(r => r.ExitCode), Is.All.EqualTo(0), string.Join("\n", results.Select(r => r.ToString())));
        var after = await cli.RunAsync("admin", "auth", "refresh");
        Assert.That(after.ExitCode, Is.EqualTo(0), after.ToString());
    }

    [Test]
    public async Task Logout_RevokesBothTokens_AndDeletesTheFile()
    {
        var cli = await LoggedInAsync();
        var saved = JsonNode.Parse(await File.ReadAllTextAsync(cli.TokenFile))!;
        var r = await cli.RunAsync("admin", "auth", "logout");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.ToString());
        Assert.That(File.Exists(cli.TokenFile), Is.False);

        using var http = new HttpClient();
        var refresh = await http.PostAsync(_url + "/api/v1/oauth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token", ["refresh_token"] = saved["refresh_token"]!.GetValue<string>(),
        }));
        Assert.That(JsonNode.Parse(await refresh.Content.ReadAsStringAsync())!["error"]!.GetValue<string>(), Is.EqualTo("invalid_grant"));
        using var me = new HttpRequestMessage(HttpMethod.Get, _url + "/api/v1/users/me");
        me.Headers.Authorization = new("Bearer", saved["access_token"]!.GetValue<string>());
        Assert.That((await http.SendAsync(me)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await cli.RunAsync("admin", "auth", "whoami")).ExitCode, Is.EqualTo(2));
    }

    [Test]
    public async Task WhoamiStatusInfoRefresh_Work()
    {
        var cli = await LoggedInAsync();
        var whoami = await cli.RunAsync("admin", "auth", "whoami", "-v");
        var status = await cli.RunAsync("admin", "auth", "status");
        var info = await cli.RunAsync("admin", "auth", "info");
        var whoamiJson = ParseJson(await cli.RunAsync("admin", "auth", "whoami", "--output", "json"));
        Assert.That(whoamiJson["user"]!["username"]!.GetValue<string>(), Is.EqualTo(AuthlyApp.AdminUsername));
        Assert.That(whoamiJson.ToJsonString(), Does.Not.Contain("access_token"));
        var refresh = await cli.RunAsync("admin", "auth", "refresh");
        var server = await cli.RunAsync("admin", "status", "--verbose");
        var serverJson = ParseJson(await cli.RunAsync("admin", "status", "--output", "json"));
        Assert.Multiple(() =>
        {
            Assert.That(whoami.ExitCode, Is.EqualTo(0), whoami.ToString());
            Assert.That(whoami.Stdout, Does.Contain(AuthlyApp.AdminUsername).And.Contain("(admin)").And.Contain("scopes:"));
            Assert.That(status.Stdout, Does.Contain("logged in as admin").And.Contain("healthy"));
            Assert.That(info.Stdout, Does.Contain(cli.ConfigDir).And.Contain("tokens.json").And.Contain("AUTHLY_API_URL"));
            Assert.That(refresh.ExitCode, Is.EqualTo(0), refresh.ToString());
            Assert.That(server.Stdout, Does.Contain("Database").And.Contain("Configuration"));
            Assert.That(serverJson["statistics"]!["users"]!.GetValue<long>(), Is.GreaterThanOrEqualTo(1));
        });
        var notLoggedIn = await new AuthlyCli(_url).RunAsync("admin", "auth", "status");
        Assert.That(notLoggedIn.ExitCode, Is.EqualTo(2));
    }

    [Test]
    public async Task ConfigToml_DefaultFormatJson_AndEnvironmentUrlWinsOverTheFile()
    {
        var cli = await LoggedInAsync();
        await File.WriteAllTextAsync(Path.Combine(cli.ConfigDir, "config.toml"), """
            # written by the test
            [api]
            url = "http://127.0.0.1:1"   # overridden by AUTHLY_API_URL
            timeout = 10

            [output]
            default_format = "json"
            """);
        var list = ParseJson(await cli.RunAsync("admin", "scope", "list"));
        Assert.That(list["scopes"], Is.InstanceOf<JsonArray>());

        var fromFile = await cli.RunWithAsync(null, new Dictionary<string, string?> { ["AUTHLY_API_URL"] = null }, "admin", "auth", "info");
        Assert.That(fromFile.Stdout, Does.Contain("http://127.0.0.1:1 (from config.toml)"));

        await File.WriteAllTextAsync(Path.Combine(cli.ConfigDir, "config.toml"), "[api]\nurl = http://unquoted\n");
        var unquoted = await cli.RunAsync("admin", "scope", "list");
        Assert.That(unquoted.ExitCode, Is.EqualTo(5), unquoted.ToString());
        Assert.That(unquoted.Stderr, Does.Contain("config.toml:2"));

        await File.WriteAllTextAsync(Path.Combine(cli.ConfigDir, "config.toml"), "[output]\ndefault_format = yaml\n");
        var bad = await cli.RunAsync("admin", "scope", "list");
        Assert.That(bad.ExitCode, Is.EqualTo(5), bad.ToString());
        Assert.That(bad.Stderr, Does.Contain("config.toml"));
    }

    [Test]
    public async Task ConfigToml_BadInput_NamesTheLine_AndChangesNothing()
    {
        var cli = await LoggedInAsync();
        var config = Path.Combine(cli.ConfigDir, "config.toml");
        var name = Unique("toml:");
        foreach (var (toml, where, what) in new[]
        {
            ("[api]\ntimeout = 10\nurl = \"http://a\" \"b\"\n", "config.toml:3:", "Expected end-of-line"),  // malformed (Tomlyn's own message)
            ("# comment\n[api]\nurl = 5\n", "config.toml:3:", "[api] url must be a quoted string"),        // wrong type
            ("[api]\ntimeout = true\n", "config.toml:2:", "[api] timeout must be a number of seconds"),
            ("[output]\n\ndefault_format = \"yaml\"\n", "config.toml:3:", "default_format must be \"table\" or \"json\""),
            ("api = \"http://a\"\n", "config.toml:1:", "api must be a [api] section"),
        })
        {
            await File.WriteAllTextAsync(config, toml);
            var r = await cli.RunAsync("admin", "scope", "create", name);
            Assert.Multiple(() =>
            {
                Assert.That(r.ExitCode, Is.EqualTo(5), $"{toml}\n{r}");
                Assert.That(r.Stderr, Does.StartWith("error: ").And.Contain(where).And.Contain(what), $"{toml}\n{r}");
                Assert.That(r.Stderr.Trim().Split('\n'), Has.Length.EqualTo(1), r.ToString());
            });
        }
        File.Delete(config);
        Assert.That((await cli.RunAsync("admin", "scope", "show", name)).ExitCode, Is.EqualTo(4), "no bad config.toml let the command run");

        // Unknown sections and keys were always ignored; now each gets a warning naming its line, and the command runs.
        await File.WriteAllTextAsync(config, "[api]\ntimout = 10\n\n[colours]\nheader = \"red\"\n");
        var warned = await cli.RunAsync("admin", "scope", "create", name);
        Assert.Multiple(() =>
        {
            Assert.That(warned.ExitCode, Is.EqualTo(0), warned.ToString());
            Assert.That(warned.Stderr, Does.Contain("warning: ").And.Contain("config.toml:2: unknown key [api] timout (ignored)"), warned.ToString());
            Assert.That(warned.Stderr, Does.Contain("config.toml:4: unknown section colours (ignored)"), warned.ToString());
        });
    }

    [Test]
    public async Task VersionCommandsAndCompletion_Work()
    {
        var cli = new AuthlyCli(_url);
        var version = await cli.RunAsync("--version");
        var commands = await cli.RunAsync("--commands");
        var help = await cli.RunAsync("admin", "client", "create", "--help");
        Assert.Multiple(() =>
        {
            Assert.That(version.ExitCode, Is.EqualTo(0));
            Assert.That(version.Stdout, Does.Match(@"^\d+\.\d+\.\d+"));
            Assert.That(commands.Stdout, Does.Contain("authly admin client regenerate-secret").And.Contain("authly admin user sessions").And.Contain("authly serve"));
            Assert.That(help.Stdout, Does.Contain("Examples:"));
        });
        foreach (var shell in new[] { "bash", "zsh", "fish" })
        {
            var script = await cli.RunAsync("completion", shell);
            Assert.That(script.ExitCode, Is.EqualTo(0), script.ToString());
            Assert.That(script.Stdout, Does.Contain("regenerate-secret"));
        }
        var bash = await cli.RunAsync("completion", "bash");
        var file = Path.Combine(cli.ConfigDir, "complete.bash");
        await File.WriteAllTextAsync(file, bash.Stdout + """

            COMP_WORDS=(authly admin cl); COMP_CWORD=2; _authly; echo "${COMPREPLY[@]}"
            COMP_WORDS=(authly admin client re); COMP_CWORD=3; _authly; echo "${COMPREPLY[@]}"
            """);
        var psi = new ProcessStartInfo("bash", [file]) { RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.That(output.Split('\n')[0].Trim(), Is.EqualTo("client"));
        Assert.That(output.Split('\n')[1].Trim().Split(' '), Is.EquivalentTo(new[] { "regenerate-secret", "registration-token" }));
    }

    [Test, Description("Issue 18: initial access tokens from the CLI: created (printed once), used by an RFC 7591 registration, listed in the " +
                       "CLI's list shape without the token, revoked; a client's token-exchange policy set and shown; the key schedule shown")]
    public async Task RegistrationTokens_ExchangePolicy_AndKeySchedule_FromTheCli()
    {
        var cli = await LoggedInAsync();
        var created = ParseJson(await cli.RunAsync("admin", "client", "registration-token", "create", "--description", "cli test",
            "--max-uses", "1", "--output", "json"));
        var (id, token) = (created["id"]!.ToString(), created["initial_access_token"]!.GetValue<string>());

        using var http = new HttpClient();
        using var register = new HttpRequestMessage(HttpMethod.Post, _url + "/api/v1/oauth/register")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new
            {
                client_name = "registered by token", redirect_uris = new[] { "https://app.example/cb" },
                grant_types = new[] { "authorization_code" }, token_endpoint_auth_method = "none",
            }),
        };
        register.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var registered = await http.SendAsync(register);
        Assert.That(registered.StatusCode, Is.EqualTo(HttpStatusCode.Created), await registered.Content.ReadAsStringAsync());

        var listed = await cli.RunAsync("admin", "client", "registration-token", "list", "--output", "json");
        var page = ParseJson(listed);
        var row = page["registration_tokens"]!.AsArray().Single(r => r!["id"]!.ToString() == id)!;
        Assert.Multiple(() =>
        {
            Assert.That(row["use_count"]!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(page["total_count"]!.GetValue<long>(), Is.GreaterThanOrEqualTo(1));
            Assert.That(listed.Stdout, Does.Not.Contain(token), "the token is printed once, at create");
        });
        Assert.That((await cli.RunAsync("admin", "client", "registration-token", "revoke", id)).ExitCode, Is.Not.EqualTo(0), "revoke asks for --confirm");
        Assert.That((await cli.RunAsync("admin", "client", "registration-token", "revoke", id, "--confirm")).ExitCode, Is.EqualTo(0));
        var revoked = ParseJson(await cli.RunAsync("admin", "client", "registration-token", "list", "--output", "json"))["registration_tokens"]!
            .AsArray().Single(r => r!["id"]!.ToString() == id)!;
        Assert.That(revoked["revoked_at"], Is.Not.Null);

        var client = ParseJson(await cli.RunAsync("admin", "client", "create", "--name", Unique("exchanger-"), "--grant-type", "client_credentials",
            "--scope", "read", "--output", "json"))["client_id"]!.GetValue<string>();
        Assert.That((await cli.RunAsync("admin", "client", "token-exchange", "set", client, "--scope", "read", "--audience", "https://orders.example",
            "--require-actor")).ExitCode, Is.EqualTo(0));
        var policy = ParseJson(await cli.RunAsync("admin", "client", "token-exchange", "show", client, "--output", "json"));
        Assert.Multiple(() =>
        {
            Assert.That(policy["audiences"]!.AsArray().Select(a => a!.GetValue<string>()), Is.EqualTo(new[] { "https://orders.example" }));
            Assert.That(policy["require_actor"]!.GetValue<bool>(), Is.True);
        });

        var schedule = ParseJson(await cli.RunAsync("admin", "keys", "schedule", "--output", "json"));
        Assert.Multiple(() =>
        {
            Assert.That(schedule["rotation_days"]!.GetValue<int>(), Is.EqualTo(90));
            Assert.That(schedule["keys"]!.AsArray().Any(k => k!["status"]!.GetValue<string>() == "active"), Is.True, schedule.ToJsonString());
        });
    }
}
