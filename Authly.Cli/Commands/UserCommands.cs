using System.CommandLine;
using System.Text.Json.Nodes;
using Authly.Cli.Admin;
using static Authly.Cli.Commands.AdminCommands;

namespace Authly.Cli.Commands;

/// <summary>`authly admin user …`: users. A user is named by id or by exact username.</summary>
public static class UserCommands
{
    private static readonly (string, string)[] Columns =
        [("id", "ID"), ("username", "USERNAME"), ("email", "EMAIL"), ("is_active", "ACTIVE"), ("is_admin", "ADMIN"), ("is_verified", "VERIFIED"), ("last_login", "LAST LOGIN")];

    public static Command Create() => new("user", """
        Users: create, list, show, update, delete, reset-password, unlock, sessions, mfa

        Examples:
          authly admin user create --username alice --email alice@example.com --generate-password
          authly admin user list --active false
          authly admin user unlock alice
          authly admin user mfa list alice
        """)
    {
        CreateUser(), List(), Show(), Update(), Delete(), ResetPassword(), Unlock(), Sessions(), Mfa(),
    };

    private static Command Mfa() => new("mfa", """
        A user's second factors (issue 16): list them, reset them, or require one.

        Examples:
          authly admin user mfa list alice
          authly admin user mfa reset alice --confirm
          authly admin user mfa require alice
        """)
    {
        MfaList(), MfaReset(), MfaRequire(true), MfaRequire(false),
    };

    private static Command MfaList()
    {
        var (user, output) = (UserArg(), OutputOption());
        var command = new Command("list", """
            Show a user's second factors and whether one is required (per user, or as an admin by AUTHLY_REQUIRE_MFA_FOR_ADMINS).

            Example:
              authly admin user mfa list alice
            """) { user, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var name = parse.GetValue(user)!;
            var result = (await api.GetAsync($"/admin/users/{await ResolveAsync(api, name, ct)}/mfa", ct))!.AsObject();
            if (Json(parse, output, api)) { Console.WriteLine(Output.Json(result)); return 0; }
            Console.WriteLine($"mfa_required: {Output.Cell(result["mfa_required"])}  (required by policy: {Output.Cell(result["required_by_policy"])})");
            Console.WriteLine(Output.Table(result["factors"]!.AsArray(), ("type", "TYPE"), ("confirmed_at", "CONFIRMED"), ("last_used_at", "LAST USED"),
                ("remaining", "REMAINING")));
            return 0;
        });
        return command;
    }

    private static Command MfaReset()
    {
        var (user, confirm) = (UserArg(), ConfirmOption());
        var kind = new Option<string?>("--type") { Description = "Only this kind of factor: totp or recovery_code (default: all)" };
        var command = new Command("reset", """
            Remove a user's second factors (a lost phone). If one is required they set up a new one at the next login.

            Example:
              authly admin user mfa reset alice --confirm
            """) { user, kind, confirm };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var name = parse.GetValue(user)!;
            var id = await ResolveAsync(api, name, ct);
            var type = parse.GetValue(kind);
            Terminal.Confirm(parse.GetValue(confirm), $"remove {(type is null ? "all second factors" : type)} of {name}");
            var result = await api.DeleteAsync(type is null ? $"/admin/users/{id}/mfa" : $"/admin/users/{id}/mfa/{Escape(type)}", ct);
            Console.WriteLine(result?["removed"]?.GetValue<bool>() == true ? $"Second factors of {name} removed." : $"{name} had no such second factor.");
            return 0;
        });
        return command;
    }

    private static Command MfaRequire(bool required)
    {
        var user = UserArg();
        var command = new Command(required ? "require" : "unrequire", required
            ? "Require a second factor for a user (they set one up at the next login if they have none).\n\nExample:\n  authly admin user mfa require alice"
            : "Stop requiring a second factor for a user (factors they have are still asked for).\n\nExample:\n  authly admin user mfa unrequire alice") { user };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var name = parse.GetValue(user)!;
            await api.PutAsync($"/admin/users/{await ResolveAsync(api, name, ct)}/mfa", new JsonObject { ["mfa_required"] = required }, ct);
            Console.WriteLine(required ? $"{name} must use a second factor." : $"{name} is no longer required to use a second factor.");
            return 0;
        });
        return command;
    }

    private static Argument<string> UserArg() => new("user") { Description = "User id (UUID) or exact username" };

    /// <summary>A UUID as is; otherwise the user whose username is exactly this (case-insensitive).</summary>
    private static async Task<string> ResolveAsync(AdminApi api, string user, CancellationToken ct)
    {
        if (Guid.TryParse(user, out var id)) return id.ToString();
        var page = (await api.GetAsync($"/admin/users?username={Escape(user)}&limit=1000", ct))!["users"]!.AsArray();
        var match = page.FirstOrDefault(u => string.Equals(u?["username"]?.GetValue<string>(), user, StringComparison.OrdinalIgnoreCase));
        return match?["id"]?.GetValue<string>() ?? throw new CliException(ExitCodes.NotFound, $"User '{user}' not found");
    }

    private static Command CreateUser()
    {
        var username = new Option<string>("--username") { Description = "Username", Required = true };
        var email = new Option<string>("--email") { Description = "Email address", Required = true };
        var password = new Option<string?>("--password") { Description = "Password (prompted without echo, or read from stdin, when neither this nor --generate-password is given)" };
        var generate = new Option<bool>("--generate-password") { Description = "Generate a temporary password, printed once; the user must change it at first login" };
        var admin = new Option<bool>("--admin") { Description = "Make the user an admin" };
        var verified = new Option<bool>("--verified") { Description = "Mark the email as verified" };
        var inactive = new Option<bool>("--inactive") { Description = "Create the account deactivated" };
        var givenName = new Option<string?>("--given-name") { Description = "Given name" };
        var familyName = new Option<string?>("--family-name") { Description = "Family name" };
        var output = OutputOption();
        var command = new Command("create", """
            Create a user.

            Examples:
              authly admin user create --username alice --email alice@example.com --generate-password
              authly admin user create --username bob --email bob@example.com --verified      # asks for the password
              echo "$PASSWORD" | authly admin user create --username ci --email ci@example.com --output json
            """) { username, email, password, generate, admin, verified, inactive, givenName, familyName, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            if (parse.GetValue(generate) && parse.GetValue(password) is not null)
                throw new CliException(ExitCodes.Validation, "Give either --password or --generate-password, not both");
            var body = new JsonObject
            {
                ["username"] = parse.GetValue(username), ["email"] = parse.GetValue(email),
                ["is_admin"] = parse.GetValue(admin), ["is_verified"] = parse.GetValue(verified), ["is_active"] = !parse.GetValue(inactive),
            };
            if (parse.GetValue(generate)) body["generate_temp_password"] = true;
            else body["password"] = parse.GetValue(password) ?? Terminal.ReadSecret("Password for the new user: ");
            if (parse.GetValue(givenName) is { } g) body["given_name"] = g;
            if (parse.GetValue(familyName) is { } f) body["family_name"] = f;
            var user = (await api.PostAsync("/admin/users", body, ct))!.AsObject();
            if (Json(parse, output, api)) { Console.WriteLine(Output.Json(user)); return 0; }
            Console.WriteLine($"Created user {Output.Cell(user["username"])} ({Output.Cell(user["id"])}).");
            if (user["temporary_password"] is JsonValue temporary)
                Console.WriteLine($"Temporary password (shown once; to be changed at first login): {temporary}");
            return 0;
        });
        return command;
    }

    private static Command List()
    {
        var (limit, offset, output) = (LimitOption(), OffsetOption(), OutputOption());
        var username = new Option<string?>("--username") { Description = "Usernames containing this" };
        var email = new Option<string?>("--email") { Description = "Emails containing this" };
        var active = new Option<bool?>("--active") { Description = "Only active (true) or deactivated (false) users" };
        var admin = new Option<bool?>("--admin") { Description = "Only admins (true) or non-admins (false)" };
        var command = new Command("list", """
            List users (filtered, paged); the total is shown below the table.

            Examples:
              authly admin user list --username ali
              authly admin user list --active false --limit 50 --offset 50 --output json
            """) { limit, offset, username, email, active, admin, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var query = Query(Paging(parse, limit, offset, "skip"),
                parse.GetValue(username) is { } u ? "username=" + Escape(u) : null,
                parse.GetValue(email) is { } e ? "email=" + Escape(e) : null,
                parse.GetValue(active) is { } a ? $"is_active={(a ? "true" : "false")}" : null,
                parse.GetValue(admin) is { } ad ? $"is_admin={(ad ? "true" : "false")}" : null);
            var page = (await api.GetAsync("/admin/users" + query, ct))!.AsObject();
            if (Json(parse, output, api)) { Console.WriteLine(Output.Json(page)); return 0; }
            var users = page["users"]!.AsArray();
            Console.WriteLine(Output.Table(users, Columns));
            Console.WriteLine($"{users.Count} of {Output.Cell(page["total_count"])} user(s)");
            return 0;
        });
        return command;
    }

    private static Command Show()
    {
        var (user, output) = (UserArg(), OutputOption());
        var command = new Command("show", """
            Show one user (never the password hash).

            Examples:
              authly admin user show alice
              authly admin user show 3f1c…-uuid --output json
            """) { user, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var u = (await api.GetAsync("/admin/users/" + await ResolveAsync(api, parse.GetValue(user)!, ct), ct))!.AsObject();
            Console.WriteLine(Json(parse, output, api) ? Output.Json(u) : Output.Fields(u));
            return 0;
        });
        return command;
    }

    private static Command Update()
    {
        var (user, output) = (UserArg(), OutputOption());
        var username = new Option<string?>("--username") { Description = "New username" };
        var email = new Option<string?>("--email") { Description = "New email" };
        var active = new Option<bool?>("--active") { Description = "Activate (true) or deactivate (false; revokes the user's tokens and sessions)" };
        var admin = new Option<bool?>("--admin") { Description = "Grant (true) or remove (false) admin rights" };
        var verified = new Option<bool?>("--verified") { Description = "Mark the email verified (true/false)" };
        var givenName = new Option<string?>("--given-name") { Description = "Given name" };
        var familyName = new Option<string?>("--family-name") { Description = "Family name" };
        var command = new Command("update", """
            Change a user; only the options you give are changed. The last active admin can be neither demoted nor deactivated.

            Examples:
              authly admin user update alice --active false
              authly admin user update alice --admin true --verified true
            """) { user, username, email, active, admin, verified, givenName, familyName, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var body = new JsonObject();
            if (parse.GetValue(username) is { } un) body["username"] = un;
            if (parse.GetValue(email) is { } e) body["email"] = e;
            if (parse.GetValue(active) is { } a) body["is_active"] = a;
            if (parse.GetValue(admin) is { } ad) body["is_admin"] = ad;
            if (parse.GetValue(verified) is { } v) body["is_verified"] = v;
            if (parse.GetValue(givenName) is { } g) body["given_name"] = g;
            if (parse.GetValue(familyName) is { } f) body["family_name"] = f;
            if (body.Count == 0) throw new CliException(ExitCodes.Validation, "Nothing to update: give at least one option (see --help)");
            var id = await ResolveAsync(api, parse.GetValue(user)!, ct);
            var u = (await api.PutAsync("/admin/users/" + id, body, ct))!.AsObject();
            Console.WriteLine(Json(parse, output, api) ? Output.Json(u) : "Updated." + Environment.NewLine + Output.Fields(u));
            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var (user, confirm) = (UserArg(), ConfirmOption());
        var command = new Command("delete", """
            Delete a user and revoke their tokens and sessions. The last active admin cannot be deleted.

            Example:
              authly admin user delete alice --confirm
            """) { user, confirm };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var name = parse.GetValue(user)!;
            var id = await ResolveAsync(api, name, ct);
            Terminal.Confirm(parse.GetValue(confirm), $"delete user {name}");
            await api.DeleteAsync("/admin/users/" + id, ct);
            Console.WriteLine($"User {name} deleted.");
            return 0;
        });
        return command;
    }

    private static Command ResetPassword()
    {
        var (user, confirm) = (UserArg(), ConfirmOption());
        var password = new Option<string?>("--password") { Description = "The new password (default: a generated temporary one, printed once)" };
        var command = new Command("reset-password", """
            Reset a user's password: their tokens and sessions are revoked and they must change it at next login.

            Examples:
              authly admin user reset-password alice --confirm                 # prints a temporary password once
              authly admin user reset-password alice --password 'N3w-long-pass' --confirm
            """) { user, password, confirm };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var name = parse.GetValue(user)!;
            var id = await ResolveAsync(api, name, ct);
            Terminal.Confirm(parse.GetValue(confirm), $"reset the password of {name} and end their sessions");
            var body = parse.GetValue(password) is { } p ? new JsonObject { ["new_password"] = p } : null;
            var result = (await api.PostAsync($"/admin/users/{id}/reset-password", body, ct))!.AsObject();
            Console.WriteLine($"Password of {name} reset; their tokens and sessions are revoked.");
            if (result["temporary_password"] is JsonValue temporary)
                Console.WriteLine($"Temporary password (shown once; to be changed at next login): {temporary}");
            return 0;
        });
        return command;
    }

    private static Command Unlock()
    {
        var user = UserArg();
        var command = new Command("unlock", """
            Clear a user's failed-login lockout.

            Example:
              authly admin user unlock alice
            """) { user };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var name = parse.GetValue(user)!;
            await api.PostAsync($"/admin/users/{await ResolveAsync(api, name, ct)}/unlock", null, ct);
            Console.WriteLine($"User {name} unlocked.");
            return 0;
        });
        return command;
    }

    private static Command Sessions()
    {
        var (user, confirm, output) = (UserArg(), ConfirmOption(), OutputOption());
        var end = new Option<string?>("--end") { Description = "End this session (by session_id)" };
        var endAll = new Option<bool>("--end-all") { Description = "End all sessions and revoke the user's tokens" };
        var command = new Command("sessions", """
            List a user's live sessions, or end one or all of them.

            Examples:
              authly admin user sessions alice
              authly admin user sessions alice --end 2b9c0e… --confirm
              authly admin user sessions alice --end-all --confirm
            """) { user, end, endAll, confirm, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var name = parse.GetValue(user)!;
            var id = await ResolveAsync(api, name, ct);
            if (parse.GetValue(end) is { } sid)
            {
                Terminal.Confirm(parse.GetValue(confirm), $"end session {sid} of {name}");
                await api.DeleteAsync($"/admin/users/{id}/sessions/{Escape(sid)}", ct);
                Console.WriteLine($"Session {sid} ended.");
                return 0;
            }
            if (parse.GetValue(endAll))
            {
                Terminal.Confirm(parse.GetValue(confirm), $"end all sessions of {name} and revoke their tokens");
                var result = await api.DeleteAsync($"/admin/users/{id}/sessions", ct);
                Console.WriteLine($"Ended {Output.Cell(result?["sessions_ended"])} session(s) of {name}; their tokens are revoked.");
                return 0;
            }
            var sessions = (await api.GetAsync($"/admin/users/{id}/sessions", ct))!.AsObject();
            Console.WriteLine(Json(parse, output, api) ? Output.Json(sessions)
                : Output.Table(sessions["sessions"]!.AsArray(), ("session_id", "SESSION ID"), ("created_at", "CREATED"), ("last_seen_at", "LAST SEEN"),
                    ("expires_at", "EXPIRES"), ("ip", "IP"), ("user_agent", "USER AGENT")));
            return 0;
        });
        return command;
    }
}
