using System.CommandLine;
using System.Text.Json.Nodes;
using Authly.Cli.Admin;

namespace Authly.Cli.Commands;

/// <summary>`authly admin auth …`: log in with the password grant as the first-party CLI, and manage the saved tokens.</summary>
public static class AuthCommands
{
    public static Command Create() => new("auth", """
        Log in and out, and show who you are

        Examples:
          authly admin auth login -u admin
          authly admin auth whoami -v
          authly admin auth logout
        """)
    {
        Login(), Logout(), WhoAmI(), Status(), Refresh(), Info(),
    };

    private static Command Login()
    {
        var username = new Option<string?>("--username", "-u") { Description = "Admin username (prompted, or read from stdin, when missing)" };
        var password = new Option<string?>("--password", "-p") { Description = "Password (prompted without echo, or read from stdin, when missing; avoid: it stays in shell history)" };
        var scope = new Option<string?>("--scope") { Description = "Scopes to ask for (default: every admin:* scope)" };
        var showToken = new Option<bool>("--show-token") { Description = "Print the access token, refresh token, expiry and granted scopes" };
        var command = new Command("login", """
            Log in to the admin API with a username and password (OAuth password grant as the CLI).

            Examples:
              authly admin auth login -u admin                      # asks for the password, hidden
              printf 'admin\nsecret\n' | authly admin auth login    # username and password from stdin
              authly admin auth login -u admin --scope "admin:users:read" --show-token
            """) { username, password, scope, showToken };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var user = parse.GetValue(username) is { Length: > 0 } u ? u : Terminal.ReadLine("Username: ").Trim();
            var pass = parse.GetValue(password) is { Length: > 0 } p ? p : Terminal.ReadSecret("Password: ");
            if (user.Length == 0 || pass.Length == 0) throw new CliException(ExitCodes.Authentication, "Username and password are required");
            var tokens = await api.PasswordLoginAsync(user, pass, parse.GetValue(scope) ?? AdminApi.AllAdminScopes, ct);
            Console.WriteLine($"Logged in to {api.BaseUrl} as {user}.");
            if (parse.GetValue(showToken))
            {
                Console.WriteLine($"access_token:  {tokens.AccessToken}");
                Console.WriteLine($"refresh_token: {tokens.RefreshToken ?? "-"}");
                Console.WriteLine($"expires_at:    {tokens.ExpiresAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}");
                Console.WriteLine($"scope:         {tokens.Scope}");
            }
            else Console.WriteLine($"Granted scopes: {tokens.Scope}");
            return 0;
        });
        return command;
    }

    private static Command Logout()
    {
        var command = new Command("logout", """
            Revoke the saved access and refresh tokens on the server and delete the token file.

            Example:
              authly admin auth logout
            """);
        command.SetAdminAction(async (_, api, ct) =>
        {
            var tokens = TokenFile.Read(api.Config.TokenFile);
            if (tokens is null) { Console.WriteLine("Not logged in."); return 0; }
            string? problem = null;
            try
            {
                if (tokens.RefreshToken is not null) await api.RevokeAsync(tokens.RefreshToken, "refresh_token", ct);
                await api.RevokeAsync(tokens.AccessToken, "access_token", ct);
            }
            catch (CliException e) { problem = e.Message; }
            TokenFile.Delete(api.Config.TokenFile);
            if (problem is null) { Console.WriteLine("Logged out: tokens revoked and removed."); return 0; }
            Console.Error.WriteLine($"error: the token file is removed, but revoking failed: {problem}");
            return ExitCodes.GeneralError;
        });
        return command;
    }

    private static Command WhoAmI()
    {
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Also show the user id, scopes and token expiry" };
        var output = AdminCommands.OutputOption();
        var command = new Command("whoami", """
            Show the logged-in user (asks the server, so a revoked login shows as such).

            Examples:
              authly admin auth whoami
              authly admin auth whoami -v
              authly admin auth whoami --output json | jq -r .user.username
            """) { verbose, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var me = (await api.GetAsync("/api/v1/users/me", ct))!.AsObject();
            var tokens = TokenFile.Read(api.Config.TokenFile)!;
            if (AdminCommands.Json(parse, output, api))
            {
                Console.WriteLine(Output.Json(new JsonObject
                {
                    ["user"] = me, ["scope"] = tokens.Scope, ["expires_at"] = tokens.ExpiresAt.UtcDateTime, ["api_url"] = api.BaseUrl,
                }));
                return 0;
            }
            Console.WriteLine($"{Output.Cell(me["username"])} <{Output.Cell(me["email"])}>{(me["is_admin"]?.GetValue<bool>() == true ? " (admin)" : "")} at {api.BaseUrl}");
            if (parse.GetValue(verbose))
            {
                Console.WriteLine($"user id:    {Output.Cell(me["id"])}");
                Console.WriteLine($"scopes:     {tokens.Scope}");
                Console.WriteLine($"expires at: {tokens.ExpiresAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}");
            }
            return 0;
        });
        return command;
    }

    private static Command Status()
    {
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Also show the server's health answer and the token file" };
        var command = new Command("status", """
            Show whether you are logged in and whether the API answers. Exit 2 when not logged in.

            Examples:
              authly admin auth status
              authly admin auth status -v
            """) { verbose };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var (health, body) = await api.ProbeAsync("/health", ct);
            Console.WriteLine($"API:    {api.BaseUrl} ({(health == 0 ? "unreachable" : body?["status"]?.GetValue<string>() ?? $"HTTP {health}")})");
            var tokens = TokenFile.Read(api.Config.TokenFile);
            if (tokens is null) { Console.WriteLine("Auth:   not logged in"); return ExitCodes.Authentication; }
            var left = tokens.ExpiresAt - DateTimeOffset.UtcNow;
            Console.WriteLine($"Auth:   logged in as {tokens.Username ?? "?"}; access token {(left > TimeSpan.Zero ? $"valid for {(int)left.TotalMinutes} min" : "expired")}" +
                              $"{(tokens.RefreshToken is null ? "" : ", refreshable")}");
            if (parse.GetValue(verbose))
            {
                Console.WriteLine($"Scopes: {tokens.Scope}");
                Console.WriteLine($"Tokens: {api.Config.TokenFile}");
                if (body is not null) Console.WriteLine($"Health: {body.ToJsonString()}");
            }
            return 0;
        });
        return command;
    }

    private static Command Refresh()
    {
        var command = new Command("refresh", """
            Refresh the access token now (commands also do it on their own before it expires).

            Example:
              authly admin auth refresh
            """);
        command.SetAdminAction(async (_, api, ct) =>
        {
            var tokens = TokenFile.Read(api.Config.TokenFile) ?? throw new CliException(ExitCodes.Authentication, "Not logged in: run 'authly admin auth login'");
            var refreshed = await api.RefreshAsync(tokens, ct);
            Console.WriteLine($"Token refreshed; valid until {refreshed.ExpiresAt.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}.");
            return 0;
        });
        return command;
    }

    private static Command Info()
    {
        var output = AdminCommands.OutputOption();
        var command = new Command("info", """
            Show the CLI's configuration: config directory, token file, API URL and where it came from, environment, version.

            Example:
              authly admin auth info
              authly admin auth info --output json
            """) { output };
        command.SetAdminAction((parse, api, _) =>
        {
            var info = new JsonObject
            {
                ["version"] = Authly.Server.AuthlyWebApp.Version,
                ["config_dir"] = api.Config.Directory,
                ["config_file"] = api.Config.ConfigFile + (File.Exists(api.Config.ConfigFile) ? "" : " (absent)"),
                ["token_file"] = api.Config.TokenFile + (File.Exists(api.Config.TokenFile) ? "" : " (absent: not logged in)"),
                ["api_url"] = $"{api.BaseUrl} (from {api.UrlSource})",
                ["AUTHLY_API_URL"] = Environment.GetEnvironmentVariable("AUTHLY_API_URL") is { Length: > 0 } e ? e : "(not set)",
                ["AUTHLY_ADMIN_API_URL"] = Environment.GetEnvironmentVariable("AUTHLY_ADMIN_API_URL") is { Length: > 0 } x ? x : "(not set)",
                ["AUTHLY_DEBUG_HTTP"] = HttpDebug.Enabled ? "on (HTTP calls printed to stderr, secrets masked)" : "off",
                ["AUTHLY_CONFIG_DIR"] = Environment.GetEnvironmentVariable("AUTHLY_CONFIG_DIR") is { Length: > 0 } d ? d : "(not set)",
                ["timeout_seconds"] = api.Config.Timeout.TotalSeconds,
            };
            Console.WriteLine(AdminCommands.Json(parse, output, api) ? Output.Json(info) : Output.Fields(info));
            return Task.FromResult(0);
        });
        return command;
    }
}
