using System.CommandLine;
using System.Text.Json.Nodes;
using Authly.Cli.Admin;
using static Authly.Cli.Commands.AdminCommands;

namespace Authly.Cli.Commands;

/// <summary>`authly admin scope …`: OAuth scopes.</summary>
public static class ScopeCommands
{
    private static readonly (string, string)[] Columns =
        [("scope_name", "SCOPE"), ("description", "DESCRIPTION"), ("is_default", "DEFAULT"), ("is_active", "ACTIVE")];

    public static Command Create() => new("scope", """
        OAuth scopes: create, list, show, update, delete, defaults

        Examples:
          authly admin scope create orders:read --description "Read orders"
          authly admin scope list --include-inactive
        """)
    {
        CreateScope(), List(), Show(), Update(), Delete(), Defaults(),
    };

    private static Argument<string> Name() => new("scope_name") { Description = "The scope's name (may contain ':')" };

    private static Command CreateScope()
    {
        var (name, output) = (Name(), OutputOption());
        name.Arity = ArgumentArity.ZeroOrOne;
        name.Description += "; or give it with --name";
        var nameOption = new Option<string?>("--name") { Description = "The scope's name (instead of the positional name; the original CLI guide's form)" };
        var description = new Option<string?>("--description") { Description = "What the scope grants" };
        var isDefault = new Option<bool>("--default") { Description = "Grant it when a request names no scope" };
        var inactive = new Option<bool>("--inactive") { Description = "Create it deactivated" };
        var command = new Command("create", """
            Create a scope.

            Examples:
              authly admin scope create orders:read --description "Read orders"
              authly admin scope create profile:basic --default
              authly admin scope create --name read --description "Read access"
            """) { name, nameOption, description, isDefault, inactive, output };
        command.Validators.Add(result => OneName(result, name, nameOption));
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var scope = (await api.PostAsync("/admin/scopes", new JsonObject
            {
                ["scope_name"] = parse.GetValue(name) ?? parse.GetValue(nameOption), ["description"] = parse.GetValue(description),
                ["is_default"] = parse.GetValue(isDefault), ["is_active"] = !parse.GetValue(inactive),
            }, ct))!.AsObject();
            Console.WriteLine(Json(parse, output, api) ? Output.Json(scope) : $"Created scope {Output.Cell(scope["scope_name"])}.");
            return 0;
        });
        return command;
    }

    private static Command List()
    {
        var (limit, offset, output) = (LimitOption(), OffsetOption(), OutputOption());
        var inactive = new Option<bool>("--include-inactive", "--show-inactive") { Description = "Also list deactivated scopes (--show-inactive: the original CLI guide's name)" };
        var defaultOnly = new Option<bool>("--default-only") { Description = "Only default scopes" };
        var command = new Command("list", """
            List scopes. JSON: {"scopes": [...], "total_count": N, "page_info": {...}}.

            Examples:
              authly admin scope list
              authly admin scope list --include-inactive --output json
            """) { limit, offset, inactive, defaultOnly, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var filter = Query(parse.GetValue(inactive) ? "include_inactive=true" : null, parse.GetValue(defaultOnly) ? "default_only=true" : null).TrimStart('?');
            var page = await PageAsync(api, "/admin/scopes", "scopes", parse, limit, offset, filter, ct);
            if (Json(parse, output, api)) { Console.WriteLine(Output.Json(page)); return 0; }
            var scopes = page["scopes"]!.AsArray();
            Console.WriteLine(Output.Table(scopes, Columns));
            Console.WriteLine($"{scopes.Count} of {page["total_count"]} scope(s)");
            return 0;
        });
        return command;
    }

    private static Command Show()
    {
        var (name, output) = (Name(), OutputOption());
        var command = new Command("show", """
            Show one scope.

            Example:
              authly admin scope show orders:read
            """) { name, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var scope = (await api.GetAsync("/admin/scopes/" + Escape(parse.GetValue(name)!), ct))!.AsObject();
            Console.WriteLine(Json(parse, output, api) ? Output.Json(scope) : Output.Fields(scope));
            return 0;
        });
        return command;
    }

    private static Command Update()
    {
        var (name, output) = (Name(), OutputOption());
        var description = new Option<string?>("--description") { Description = "New description" };
        var isDefault = new Option<bool?>("--default") { Description = "Make it a default scope (true/false)" };
        var active = new Option<bool?>("--active") { Description = "Activate (true) or deactivate (false)" };
        var command = new Command("update", """
            Change a scope's description, default flag or active flag.

            Examples:
              authly admin scope update orders:read --description "Read all orders"
              authly admin scope update legacy --active false
            """) { name, description, isDefault, active, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var body = new JsonObject();
            if (parse.GetValue(description) is { } d) body["description"] = d;
            if (parse.GetValue(isDefault) is { } x) body["is_default"] = x;
            if (parse.GetValue(active) is { } a) body["is_active"] = a;
            if (body.Count == 0) throw new CliException(ExitCodes.Validation, "Nothing to update: give --description, --default or --active");
            var scope = (await api.PutAsync("/admin/scopes/" + Escape(parse.GetValue(name)!), body, ct))!.AsObject();
            Console.WriteLine(Json(parse, output, api) ? Output.Json(scope) : "Updated." + Environment.NewLine + Output.Fields(scope));
            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var (name, confirm) = (Name(), ConfirmOption());
        var command = new Command("delete", """
            Delete a scope.

            Example:
              authly admin scope delete orders:read --confirm
            """) { name, confirm };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var scopeName = parse.GetValue(name)!;
            Terminal.Confirm(parse.GetValue(confirm), $"delete scope {scopeName}");
            await api.DeleteAsync("/admin/scopes/" + Escape(scopeName), ct);
            Console.WriteLine($"Scope {scopeName} deleted.");
            return 0;
        });
        return command;
    }

    private static Command Defaults()
    {
        var output = OutputOption();
        var command = new Command("defaults", """
            List the default scopes (granted when a request names none).

            Example:
              authly admin scope defaults --output json
            """) { output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var scopes = (await api.GetAsync("/admin/scopes/defaults", ct))!.AsArray();
            Console.WriteLine(Json(parse, output, api) ? Output.Json(ListShape("scopes", scopes, scopes.Count)) : Output.Table(scopes, Columns));
            return 0;
        });
        return command;
    }
}
