using System.CommandLine;
using System.Text.Json.Nodes;
using Authly.Cli.Admin;
using static Authly.Cli.Commands.AdminCommands;

namespace Authly.Cli.Commands;

/// <summary>
/// Issue 18: `authly admin client registration-token …` (RFC 7591 initial access tokens; the token is printed once)
/// and `authly admin client token-exchange …` (a client's RFC 8693 policy).
/// </summary>
public static class RegistrationCommands
{
    public static Command RegistrationToken() => new("registration-token", """
        Initial access tokens for dynamic client registration (AUTHLY_REGISTRATION=token): create, list, revoke

        Examples:
          authly admin client registration-token create --description "platform team" --max-uses 10 --expires-in 86400
          authly admin client registration-token list
          authly admin client registration-token revoke <id> --confirm
        """)
    {
        CreateToken(), ListTokens(), RevokeToken(),
    };

    public static Command TokenExchange() => new("token-exchange", """
        A client's token exchange policy (RFC 8693): show, set, clear

        Examples:
          authly admin client token-exchange set my-client-id --scope read --audience https://orders.example --require-actor
          authly admin client token-exchange show my-client-id
          authly admin client token-exchange clear my-client-id --confirm
        """)
    {
        ShowPolicy(), SetPolicy(), ClearPolicy(),
    };

    private static readonly (string, string)[] TokenColumns =
        [("id", "ID"), ("description", "DESCRIPTION"), ("expires_at", "EXPIRES"), ("uses_left", "USES LEFT"), ("use_count", "USED"), ("revoked_at", "REVOKED")];

    private static Command CreateToken()
    {
        var description = new Option<string?>("--description") { Description = "What the token is for" };
        var expiresIn = new Option<int?>("--expires-in") { Description = "Lifetime in seconds (default: no expiry)" };
        var maxUses = new Option<int?>("--max-uses") { Description = "How many clients it may register (default: no limit)" };
        var output = OutputOption();
        var command = new Command("create", """
            Create an initial access token. It is printed once: hand it to whoever may register clients.

            Example:
              authly admin client registration-token create --max-uses 1 --expires-in 3600
            """) { description, expiresIn, maxUses, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var body = new JsonObject();
            if (parse.GetValue(description) is { } d) body["description"] = d;
            if (parse.GetValue(expiresIn) is { } e) body["expires_in"] = e;
            if (parse.GetValue(maxUses) is { } m) body["max_uses"] = m;
            var result = (await api.PostAsync("/admin/registration-tokens", body, ct))!.AsObject();
            if (Json(parse, output, api)) { Console.WriteLine(Output.Json(result)); return 0; }
            Console.WriteLine($"id:                   {Output.Cell(result["id"])}");
            Console.WriteLine($"initial_access_token: {Output.Cell(result["initial_access_token"])}");
            Console.WriteLine("Store the token now: it is shown only once.");
            return 0;
        });
        return command;
    }

    private static Command ListTokens()
    {
        var (limit, offset, output) = (LimitOption(), OffsetOption(), OutputOption());
        var command = new Command("list", """
            List initial access tokens (never the tokens themselves).

            Example:
              authly admin client registration-token list --output json
            JSON: {"registration_tokens": [...], "total_count": N, "page_info": {...}}.
            """) { limit, offset, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            // The CLI's one list shape (AdminCommands.PageAsync), like client and scope lists.
            var page = await PageAsync(api, "/admin/registration-tokens", "registration_tokens", parse, limit, offset, null, ct);
            if (Json(parse, output, api)) { Console.WriteLine(Output.Json(page)); return 0; }
            var rows = page["registration_tokens"]!.AsArray();
            Console.WriteLine(Output.Table(rows, TokenColumns));
            Console.WriteLine($"{rows.Count} of {page["total_count"]} initial access token(s)");
            return 0;
        });
        return command;
    }

    private static Command RevokeToken()
    {
        var id = new Argument<string>("id") { Description = "The token's id (from list or create)" };
        var confirm = ConfirmOption();
        var command = new Command("revoke", """
            Revoke an initial access token: it registers no more clients (clients it registered stay).

            Example:
              authly admin client registration-token revoke 3f2a9c1e-0b6d-4c1f-9a0e-5d2b7c8e4f10 --confirm
            """) { id, confirm };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var tokenId = parse.GetValue(id)!;
            Terminal.Confirm(parse.GetValue(confirm), $"revoke initial access token {tokenId}");
            await api.DeleteAsync("/admin/registration-tokens/" + Escape(tokenId), ct);
            Console.WriteLine($"Initial access token {tokenId} revoked.");
            return 0;
        });
        return command;
    }

    private static Argument<string> ClientId() => new("client_id") { Description = "The client's client_id" };

    private static Command ShowPolicy()
    {
        var (id, output) = (ClientId(), OutputOption());
        var command = new Command("show", """
            Show a client's token exchange policy.

            Example:
              authly admin client token-exchange show my-client-id
            """) { id, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var policy = (await api.GetAsync($"/admin/clients/{Escape(parse.GetValue(id)!)}/token-exchange", ct))!.AsObject();
            Console.WriteLine(Json(parse, output, api) ? Output.Json(policy) : Output.Fields(policy));
            return 0;
        });
        return command;
    }

    private static Command SetPolicy()
    {
        var (id, output) = (ClientId(), OutputOption());
        var audiences = new Option<string[]>("--audience") { Description = "An audience or resource URI the client may ask for (repeat for several)" };
        var scope = new Option<string[]>("--scope") { Description = "Scopes the client may ask for, space-separated, or repeat the option" };
        var requireActor = new Option<bool>("--require-actor") { Description = "Delegation only: every exchange must present an actor_token" };
        var command = new Command("set", """
            Set (replace) a client's token exchange policy. The client also needs the grant type
            urn:ietf:params:oauth:grant-type:token-exchange (authly admin client update --grant-type …).

            Example:
              authly admin client token-exchange set my-client-id --scope "read write" --audience https://orders.example
            """) { id, audiences, scope, requireActor, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var body = new JsonObject
            {
                ["audiences"] = new JsonArray((parse.GetValue(audiences) ?? []).Select(a => (JsonNode?)a).ToArray()),
                ["scope"] = string.Join(' ', (parse.GetValue(scope) ?? []).SelectMany(x => x.Split(' ', StringSplitOptions.RemoveEmptyEntries))),
                ["require_actor"] = parse.GetValue(requireActor),
            };
            var policy = (await api.PutAsync($"/admin/clients/{Escape(parse.GetValue(id)!)}/token-exchange", body, ct))!.AsObject();
            Console.WriteLine(Json(parse, output, api) ? Output.Json(policy) : "Policy set." + Environment.NewLine + Output.Fields(policy));
            return 0;
        });
        return command;
    }

    private static Command ClearPolicy()
    {
        var (id, confirm) = (ClientId(), ConfirmOption());
        var command = new Command("clear", """
            Remove a client's token exchange policy: it can no longer exchange tokens.

            Example:
              authly admin client token-exchange clear my-client-id --confirm
            """) { id, confirm };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var clientId = parse.GetValue(id)!;
            Terminal.Confirm(parse.GetValue(confirm), $"remove the token exchange policy of client {clientId}");
            await api.DeleteAsync($"/admin/clients/{Escape(clientId)}/token-exchange", ct);
            Console.WriteLine($"Token exchange policy of {clientId} removed.");
            return 0;
        });
        return command;
    }
}
