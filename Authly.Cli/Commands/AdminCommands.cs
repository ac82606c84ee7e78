using System.CommandLine;
using System.Text.Json.Nodes;
using Authly.Cli.Admin;

namespace Authly.Cli.Commands;

/// <summary>`authly admin …`: the admin API from the command line (auth, client, scope, user, keys, status).</summary>
public static class AdminCommands
{
    /// <summary>--api-url on `admin` and everything under it.</summary>
    public static readonly Option<string?> ApiUrl = new("--api-url")
    {
        Description = "Authly base URL (default: $AUTHLY_API_URL or $AUTHLY_ADMIN_API_URL, config.toml [api] url, the last login's URL, http://localhost:8000)",
        Recursive = true,
    };

    public static Command Create()
    {
        var command = new Command("admin", """
            Manage an Authly server through its admin API (clients, scopes, users, keys).

            Log in once with an admin account; the token is kept in ~/.authly/tokens.json (0600) and
            refreshed automatically. Exit codes: 0 ok, 1 error, 2 authentication/usage, 3 permission
            denied, 4 not found, 5 validation.

            Examples:
              authly admin auth login -u admin
              authly admin client list --output json
              authly admin user create --username alice --email alice@example.com --generate-password
            """)
        {
            ApiUrl, AuthCommands.Create(), ClientCommands.Create(), ScopeCommands.Create(), UserCommands.Create(), Keys(), Status(),
        };
        return command;
    }

    public static Option<string?> OutputOption()
    {
        var o = new Option<string?>("--output", "-o") { Description = "table (default, for people) or json (stable, for scripts); config.toml [output] default_format" };
        o.AcceptOnlyFromAmong("table", "json");
        return o;
    }

    public static Option<int?> LimitOption() => new("--limit") { Description = "Maximum rows (1-1000, default 100)" };
    public static Option<int?> OffsetOption() => new("--offset") { Description = "Rows to skip" };
    public static Option<bool> ConfirmOption() => new("--confirm") { Description = "Do it without asking (required when stdin is not a terminal)" };

    /// <summary>
    /// A usage error (exit 2, nothing sent) when a name given as a value starts with '-': it is almost
    /// always an option whose value was forgotten (`--name --description x` must not create "--description").
    /// </summary>
    public static void NotAnOption(System.CommandLine.Parsing.SymbolResult result, string? value, string what)
    {
        if (value is not null && value.StartsWith('-'))
            result.AddError($"{what} must not start with '-' (got '{value}'): did you forget its value?");
    }

    /// <summary>The name of a create command: the positional argument or --name, exactly one of them, never starting with '-'.</summary>
    public static void OneName(System.CommandLine.Parsing.CommandResult result, Argument<string> positional, Option<string?> option)
    {
        var (a, o) = (result.GetValue(positional), result.GetValue(option));
        if (o is not null && o.StartsWith('-')) NotAnOption(result, o, "--name");
        else if (a is not null && a.StartsWith('-')) NotAnOption(result, a, "The name");
        else if (a is null && o is null) result.AddError($"Give the name: {positional.Name} or --name");
        else if (a is not null && o is not null) result.AddError($"Give the name once: either {positional.Name} or --name, not both");
    }

    public static bool Json(ParseResult parse, Option<string?> output, AdminApi api) => (parse.GetValue(output) ?? api.Config.DefaultFormat ?? "table") == "json";

    /// <summary>Runs an admin command: errors become one "error: …" line on stderr and their exit code.</summary>
    public static void SetAdminAction(this Command command, Func<ParseResult, AdminApi, CancellationToken, Task<int>> run) =>
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                using var api = new AdminApi(CliConfig.Load(), parse.GetValue(ApiUrl));
                return await run(parse, api, ct);
            }
            catch (CliException e) { return e.Report(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return ExitCodes.GeneralError;
            }
        });

    /// <summary>
    /// One page of a paged admin list that the API answers as a bare array (clients, scopes), in the CLI's one list
    /// shape: the shape of the admin API's own GET /admin/users, <c>{"&lt;kind&gt;": [...], "total_count": N,
    /// "page_info": {skip, limit, count, total_pages, current_page, has_next, has_previous}}</c>. The total is what a
    /// short page shows, or else counted by reading the rest of the list in pages of 1000.
    /// </summary>
    public static async Task<JsonObject> PageAsync(AdminApi api, string path, string kind, ParseResult parse, Option<int?> limit, Option<int?> offset,
        string? filter, CancellationToken ct)
    {
        var (l, o) = (parse.GetValue(limit) ?? 100, parse.GetValue(offset) ?? 0);
        var rows = (await api.GetAsync(path + Query($"limit={l}", $"offset={o}", filter), ct))!.AsArray();
        long total;
        if (rows.Count < l && (rows.Count > 0 || o == 0)) total = o + rows.Count;
        else
        {
            var (from, counted) = rows.Count == l ? (o + l, (long)o + l) : (0, 0L);
            while (true)
            {
                var more = (await api.GetAsync(path + Query("limit=1000", $"offset={from}", filter), ct))!.AsArray().Count;
                counted += more;
                from += more;
                if (more < 1000) break;
            }
            total = counted;
        }
        return ListShape(kind, rows, total, l, o);
    }

    /// <summary>The CLI's list shape (see <see cref="PageAsync"/>); <paramref name="limit"/> null for lists that are not paged (no page_info).</summary>
    public static JsonObject ListShape(string kind, JsonArray rows, long total, int? limit = null, int skip = 0)
    {
        var page = new JsonObject { [kind] = rows, ["total_count"] = total };
        if (limit is { } l)
            page["page_info"] = new JsonObject
            {
                ["skip"] = skip, ["limit"] = l, ["count"] = rows.Count, ["total_pages"] = (total + l - 1) / l, ["current_page"] = skip / l + 1,
                ["has_next"] = skip + rows.Count < total, ["has_previous"] = skip > 0,
            };
        return page;
    }

    public static string Paging(ParseResult parse, Option<int?> limit, Option<int?> offset, string offsetName = "offset")
    {
        var query = new List<string>();
        if (parse.GetValue(limit) is { } l) query.Add($"limit={l}");
        if (parse.GetValue(offset) is { } o) query.Add($"{offsetName}={o}");
        return string.Join('&', query);
    }

    public static string Query(params string?[] parts)
    {
        var given = parts.Where(p => !string.IsNullOrEmpty(p)).ToArray();
        return given.Length == 0 ? "" : "?" + string.Join('&', given);
    }

    public static string Escape(string segment) => Uri.EscapeDataString(segment);

    private static Command Keys()
    {
        var output = OutputOption();
        var list = new Command("list", """
            List signing keys (identity and lifecycle only, never key material).

            Example:
              authly admin keys list --output json
            """) { output };
        list.SetAdminAction(async (parse, api, ct) =>
        {
            var keys = (await api.GetAsync("/admin/keys", ct))!.AsArray();
            Console.WriteLine(Json(parse, output, api) ? Output.Json(ListShape("keys", keys, keys.Count))
                : Output.Table(keys, ("kid", "KID"), ("alg", "ALG"), ("status", "STATUS"), ("created_at", "CREATED"), ("activates_at", "SIGNS FROM"),
                    ("verify_until", "VERIFY UNTIL")));
            return 0;
        });

        var scheduleOutput = OutputOption();
        var schedule = new Command("schedule", """
            Show automatic key rotation: whether it is on, the next rotation, and each key's state (pending: published, not signing yet;
            active: signing; retiring: verifying until its tokens expire). Needs admin:system:read.

            Example:
              authly admin keys schedule
            """) { scheduleOutput };
        schedule.SetAdminAction(async (parse, api, ct) =>
        {
            var result = (await api.GetAsync("/admin/keys/schedule", ct))!.AsObject();
            if (Json(parse, scheduleOutput, api)) { Console.WriteLine(Output.Json(result)); return 0; }
            var automatic = result["automatic"]!.GetValue<bool>();
            Console.WriteLine(automatic
                ? $"Automatic rotation: every {result["rotation_days"]} days, new keys published {result["announce_period_seconds"]} s before they sign"
                : "Automatic rotation: off");
            Console.WriteLine($"Next rotation: {(result["next_rotation_at"] is { } next ? Output.Cell(next) : "none scheduled")}");
            var keys = result["keys"]!.AsArray();
            Console.WriteLine(Output.Table(keys, ("kid", "KID"), ("alg", "ALG"), ("status", "STATUS"), ("activates_at", "SIGNS FROM"),
                ("retired_at", "SIGNS UNTIL"), ("verify_until", "VERIFY UNTIL")));
            return 0;
        });

        var confirm = ConfirmOption();
        var rotateOutput = OutputOption();
        var rotate = new Command("rotate", """
            Rotate the signing key now: new tokens are signed with a new key at once (no announce period: use it when a key may
            have leaked); the old one stays in the JWKS until its tokens expire. Automatic rotation: see 'keys schedule'.

            Example:
              authly admin keys rotate --confirm
            """) { confirm, rotateOutput };
        rotate.SetAdminAction(async (parse, api, ct) =>
        {
            Terminal.Confirm(parse.GetValue(confirm), "rotate the signing key");
            var result = (await api.PostAsync("/admin/keys/rotate", null, ct))!.AsObject();
            Console.WriteLine(Json(parse, rotateOutput, api) ? Output.Json(result) : $"Rotated: new key {Output.Cell(result["kid"])} ({Output.Cell(result["alg"])})");
            return 0;
        });
        return new Command("keys", """
            Signing keys: list, show the rotation schedule, rotate

            Examples:
              authly admin keys list
              authly admin keys schedule
              authly admin keys rotate --confirm
            """) { list, schedule, rotate };
    }

    private static Command Status()
    {
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Also show the configuration" };
        var output = OutputOption();
        var command = new Command("status", """
            Show the server's status: database, Redis, counts (and configuration with --verbose). Needs admin:system:read.

            Examples:
              authly admin status
              authly admin status --verbose --output json
            """) { verbose, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var status = (await api.GetAsync("/admin/status", ct))!.AsObject();
            if (Json(parse, output, api))
            {
                if (!parse.GetValue(verbose)) status.Remove("configuration");
                Console.WriteLine(Output.Json(status));
                return 0;
            }
            Console.WriteLine($"Server     {api.BaseUrl} ({Output.Cell(status["status"])}, version {Output.Cell(status["version"])})");
            Console.WriteLine($"Database   {(status["database"]?["connected"]?.GetValue<bool>() == true ? "connected" : "disconnected")}, PostgreSQL {Output.Cell(status["database"]?["version"])}");
            var redis = status["redis"];
            Console.WriteLine($"Redis      {(redis?["enabled"]?.GetValue<bool>() != true ? "not configured" : redis["connected"]?.GetValue<bool>() == true ? "connected" : "disconnected")}");
            if (status["statistics"] is JsonObject stats)
                Console.WriteLine(Indent(Output.Fields(stats)));
            if (parse.GetValue(verbose) && status["configuration"] is JsonObject config)
            {
                Console.WriteLine("Configuration");
                Console.WriteLine(Indent(Output.Fields(config)));
            }
            return 0;
        });
        return command;
    }

    private static string Indent(string text) => string.Join(Environment.NewLine, text.Split(Environment.NewLine).Select(l => "  " + l));
}
