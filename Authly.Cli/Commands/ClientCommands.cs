using System.CommandLine;
using System.Text.Json.Nodes;
using Authly.Cli.Admin;
using static Authly.Cli.Commands.AdminCommands;

namespace Authly.Cli.Commands;

/// <summary>`authly admin client …`: OAuth clients. The secret is printed once, on create and regenerate-secret.</summary>
public static class ClientCommands
{
    private static readonly (string, string)[] Columns =
        [("client_id", "CLIENT ID"), ("client_name", "NAME"), ("client_type", "TYPE"), ("scope", "SCOPE"), ("is_active", "ACTIVE")];

    public static Command Create() => new("client", """
        OAuth clients: create, list, show, update, delete, regenerate-secret, registration-token, token-exchange

        Examples:
          authly admin client create --name "Billing job" --grant-type client_credentials --scope read
          authly admin client list --output json
          authly admin client regenerate-secret <client_id> --confirm
        """)
    {
        CreateClient(), List(), Show(), Update(), Delete(), RegenerateSecret(),
        RegistrationCommands.RegistrationToken(), RegistrationCommands.TokenExchange(),
    };

    private sealed record Fields(Option<string?> Name, Option<string[]> RedirectUris, Option<string[]> Scope, Option<string[]> GrantTypes,
        Option<string?> AuthMethod, Option<string?> ClientUri, Option<string?> LogoUri, Option<string?> TosUri, Option<string?> PolicyUri,
        Option<string[]> Contacts, Option<bool?> RequirePkce,
        Option<FileInfo?> JwksFile, Option<string?> JwksUri, Option<bool?> RequirePar, Option<string?> Profile,
        // Issue 17, RFC 8707: the resources the client may ask for.
        Option<string[]> Resources)
    {
        public static Fields Make() => new(
            new Option<string?>("--name") { Description = "Client name" },
            new Option<string[]>("--redirect-uri") { Description = "Redirect URI (repeat for several)" },
            new Option<string[]>("--scope") { Description = "Allowed scopes, space-separated, or repeat the option (--scope read --scope write)" },
            new Option<string[]>("--grant-type") { Description = "Allowed grant type (repeat): authorization_code, client_credentials, refresh_token, password, …" },
            new Option<string?>("--auth-method") { Description = "token_endpoint_auth_method: client_secret_basic, client_secret_post, private_key_jwt or none" },
            new Option<string?>("--client-uri") { Description = "Home page of the client" },
            new Option<string?>("--logo-uri") { Description = "URL of the client's logo" },
            new Option<string?>("--tos-uri") { Description = "URL of the client's terms of service" },
            new Option<string?>("--policy-uri") { Description = "URL of the client's privacy policy" },
            new Option<string[]>("--contacts") { Description = "Contact e-mail address (repeat for several; on update the list replaces the old one)" },
            new Option<bool?>("--require-pkce") { Description = "Require PKCE (true/false)" },
            new Option<FileInfo?>("--jwks-file") { Description = "A JSON file with the client's public keys (a JWK Set) for private_key_jwt" },
            new Option<string?>("--jwks-uri") { Description = "https URL where the client publishes its JWK Set, for private_key_jwt (\"\" clears it)" },
            new Option<bool?>("--require-par") { Description = "Require pushed authorization requests (RFC 9126) for this client (true/false)" },
            new Option<string?>("--profile") { Description = "Security profile: fapi2, or \"\" for none" },
            // ---- RFC 8707 resource indicators ----
            new Option<string[]>("--resource")
            {
                Description = "A resource URI the client may ask for (RFC 8707; repeat for several; on update the list replaces the old one, --resource \"\" clears it)",
            });

        public IEnumerable<Option> All => [Name, RedirectUris, Scope, GrantTypes, AuthMethod, ClientUri, LogoUri, TosUri, PolicyUri, Contacts, RequirePkce,
            JwksFile, JwksUri, RequirePar, Profile, Resources];

        public JsonObject Body(ParseResult parse)
        {
            var body = new JsonObject();
            if (parse.GetValue(Name) is { } n) body["client_name"] = n;
            if (parse.GetValue(RedirectUris) is { Length: > 0 } r) body["redirect_uris"] = new JsonArray(r.Select(x => (JsonNode?)x).ToArray());
            if (parse.GetValue(Scope) is { Length: > 0 } s) body["scope"] = string.Join(' ', s.SelectMany(x => x.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
            if (parse.GetValue(GrantTypes) is { Length: > 0 } g) body["grant_types"] = new JsonArray(g.Select(x => (JsonNode?)x).ToArray());
            if (parse.GetValue(AuthMethod) is { } m) body["token_endpoint_auth_method"] = m;
            if (parse.GetValue(ClientUri) is { } u) body["client_uri"] = u;
            if (parse.GetValue(LogoUri) is { } logo) body["logo_uri"] = logo;
            if (parse.GetValue(TosUri) is { } tos) body["tos_uri"] = tos;
            if (parse.GetValue(PolicyUri) is { } policy) body["policy_uri"] = policy;
            if (parse.GetValue(Contacts) is { Length: > 0 } c) body["contacts"] = new JsonArray(c.Select(x => (JsonNode?)x).ToArray());
            if (parse.GetValue(RequirePkce) is { } p) body["require_pkce"] = p;
            if (parse.GetValue(JwksFile) is { } file) body["jwks"] = ReadJwks(file);
            if (parse.GetValue(JwksUri) is { } jwksUri) body["jwks_uri"] = jwksUri;
            if (parse.GetValue(RequirePar) is { } par) body["require_pushed_authorization_requests"] = par;
            if (parse.GetValue(Profile) is { } profile) body["profile"] = profile;
            if (parse.GetValue(Resources) is { Length: > 0 } res)
                body["resources"] = new JsonArray(res.Where(x => x.Length > 0).Select(x => (JsonNode?)x).ToArray());
            return body;
        }
    }

    /// <summary>The JWK Set in a file, as a JSON object; the server checks the keys themselves.</summary>
    private static JsonObject ReadJwks(FileInfo file)
    {
        string text;
        try { text = File.ReadAllText(file.FullName); }
        catch (IOException e) { throw new CliException(ExitCodes.Validation, $"--jwks-file: cannot read {file.FullName}: {e.Message}"); }
        catch (UnauthorizedAccessException) { throw new CliException(ExitCodes.Validation, $"--jwks-file: no permission to read {file.FullName}"); }
        try { return JsonNode.Parse(text) as JsonObject ?? throw new CliException(ExitCodes.Validation, "--jwks-file must hold a JSON object (a JWK Set)"); }
        catch (System.Text.Json.JsonException) { throw new CliException(ExitCodes.Validation, "--jwks-file is not valid JSON"); }
    }

    private static Command CreateClient()
    {
        var f = Fields.Make();
        f.Name.Required = true;
        f.Name.Validators.Add(result => NotAnOption(result, result.GetValueOrDefault<string?>(), "--name"));
        var type = new Option<string>("--type") { Description = "confidential (has a secret) or public", DefaultValueFactory = _ => "confidential" };
        type.AcceptOnlyFromAmong("confidential", "public");
        var output = OutputOption();
        var command = new Command("create", """
            Create an OAuth client. A confidential client's secret is printed once: store it now.

            Examples:
              authly admin client create --name "Billing job" --grant-type client_credentials --scope "read write"
              authly admin client create --name "SPA" --type public --auth-method none \
                  --redirect-uri https://app.example.com/callback --grant-type authorization_code --grant-type refresh_token
              authly admin client create --name ci --grant-type client_credentials --output json | jq -r .client_secret
              authly admin client create --name "Enterprise App" --redirect-uri https://enterprise.com/cb \
                  --scope read --scope write --client-uri https://enterprise.com --contacts admin@enterprise.com
            """) { type, output };
        foreach (var o in f.All) command.Options.Add(o);
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var body = f.Body(parse);
            body["client_type"] = parse.GetValue(type);
            var created = (await api.PostAsync("/admin/clients", body, ct))!.AsObject();
            if (Json(parse, output, api)) { Console.WriteLine(Output.Json(created)); return 0; }
            Console.WriteLine($"Created client {Output.Cell(created["client_name"])}");
            Console.WriteLine($"client_id:     {Output.Cell(created["client_id"])}");
            if (created["client_secret"] is JsonValue secret)
            {
                Console.WriteLine($"client_secret: {secret}");
                Console.WriteLine("Store the secret now: it is shown only once.");
            }
            return 0;
        });
        return command;
    }

    private static Command List()
    {
        var (limit, offset, output) = (LimitOption(), OffsetOption(), OutputOption());
        var inactive = new Option<bool>("--include-inactive", "--show-inactive") { Description = "Also list deactivated clients (--show-inactive: the original CLI guide's name)" };
        var command = new Command("list", """
            List clients (never secrets). JSON: {"clients": [...], "total_count": N, "page_info": {...}}.

            Examples:
              authly admin client list
              authly admin client list --output json | jq -r '.clients[].client_id'
              authly admin client list --include-inactive --limit 20 --offset 20 --output json
            """) { limit, offset, inactive, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var page = await PageAsync(api, "/admin/clients", "clients", parse, limit, offset, parse.GetValue(inactive) ? "include_inactive=true" : null, ct);
            if (Json(parse, output, api)) { Console.WriteLine(Output.Json(page)); return 0; }
            var clients = page["clients"]!.AsArray();
            Console.WriteLine(Output.Table(clients, Columns));
            Console.WriteLine($"{clients.Count} of {page["total_count"]} client(s)");
            return 0;
        });
        return command;
    }

    private static Argument<string> ClientId() => new("client_id") { Description = "The client's client_id" };

    private static Command Show()
    {
        var (id, output) = (ClientId(), OutputOption());
        var command = new Command("show", """
            Show one client.

            Example:
              authly admin client show my-client-id --output json
            """) { id, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var client = (await api.GetAsync("/admin/clients/" + Escape(parse.GetValue(id)!), ct))!.AsObject();
            Console.WriteLine(Json(parse, output, api) ? Output.Json(client) : Output.Fields(client));
            return 0;
        });
        return command;
    }

    private static Command Update()
    {
        var (id, output, f) = (ClientId(), OutputOption(), Fields.Make());
        var active = new Option<bool?>("--active") { Description = "Activate (true) or deactivate (false) the client" };
        var command = new Command("update", """
            Change a client's fields; only the options you give are changed.

            Examples:
              authly admin client update my-client-id --scope "read write admin"
              authly admin client update my-client-id --redirect-uri https://new.example.com/cb --active true
            """) { id, active, output };
        foreach (var o in f.All) command.Options.Add(o);
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var body = f.Body(parse);
            if (parse.GetValue(active) is { } a) body["is_active"] = a;
            if (body.Count == 0) throw new CliException(ExitCodes.Validation, "Nothing to update: give at least one option (see --help)");
            var client = (await api.PutAsync("/admin/clients/" + Escape(parse.GetValue(id)!), body, ct))!.AsObject();
            Console.WriteLine(Json(parse, output, api) ? Output.Json(client) : "Updated." + Environment.NewLine + Output.Fields(client));
            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var (id, confirm) = (ClientId(), ConfirmOption());
        var command = new Command("delete", """
            Deactivate a client: it can no longer get tokens.

            Example:
              authly admin client delete my-client-id --confirm
            """) { id, confirm };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var clientId = parse.GetValue(id)!;
            Terminal.Confirm(parse.GetValue(confirm), $"deactivate client {clientId}");
            await api.DeleteAsync("/admin/clients/" + Escape(clientId), ct);
            Console.WriteLine($"Client {clientId} deactivated.");
            return 0;
        });
        return command;
    }

    private static Command RegenerateSecret()
    {
        var (id, confirm, output) = (ClientId(), ConfirmOption(), OutputOption());
        var command = new Command("regenerate-secret", """
            Replace a confidential client's secret; the old one stops working at once. The new secret is printed once.

            Example:
              authly admin client regenerate-secret my-client-id --confirm
            """) { id, confirm, output };
        command.SetAdminAction(async (parse, api, ct) =>
        {
            var clientId = parse.GetValue(id)!;
            Terminal.Confirm(parse.GetValue(confirm), $"replace the secret of client {clientId}");
            var result = (await api.PostAsync($"/admin/clients/{Escape(clientId)}/regenerate-secret", null, ct))!.AsObject();
            if (Json(parse, output, api)) { Console.WriteLine(Output.Json(result)); return 0; }
            Console.WriteLine($"client_id:     {clientId}");
            Console.WriteLine($"client_secret: {Output.Cell(result["client_secret"])}");
            Console.WriteLine("Store the secret now: it is shown only once.");
            return 0;
        });
        return command;
    }
}
