using System.CommandLine;
using Authly.Cli.Admin;
using Authly.Cluster;
using Authly.Configuration;
using Authly.Storage;
using Authly.Vault;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Authly.Cli.Commands;

/// <summary>
/// `authly vault …`: work on the token vault's tables directly (DATABASE_URL), like `migrate`.
/// rotate-key re-wraps every data key with AUTHLY_VAULT_ENCRYPTION_KEY; providers list/add/remove
/// manage upstream providers. Exit codes: 0 done, 1 database or provider failure, 2 bad
/// configuration or arguments, 3 rows left that no configured key can open.
/// </summary>
public static class VaultCommands
{
    public static Command Create()
    {
        var providers = new Command("providers", """
            List, add and deactivate upstream OpenID providers

            Examples:
              authly vault providers list --all
              authly vault providers remove google
            """) { ListProviders(), AddProvider(), RemoveProvider() };
        return new Command("vault", """
            The token vault: key rotation and upstream providers

            Works on the database directly (DATABASE_URL or --database-url), like `authly migrate`.

            Examples:
              authly vault providers list
              AUTHLY_VAULT_ENCRYPTION_KEY=$NEW AUTHLY_VAULT_PREVIOUS_KEYS=$OLD authly vault rotate-key
            """) { RotateKey(), providers };
    }

    private static Option<string?> DatabaseUrlOption() => new("--database-url") { Description = "PostgreSQL URL (default: $DATABASE_URL)" };

    private static Command RotateKey()
    {
        var url = DatabaseUrlOption();
        var batch = new Option<int>("--batch-size") { Description = "Rows read per query", DefaultValueFactory = _ => 500 };
        var command = new Command("rotate-key", """
            Re-wrap every vault data key with the current vault key, without downtime.

            1. Give every server the new key in AUTHLY_VAULT_ENCRYPTION_KEY and the old one(s) in
               AUTHLY_VAULT_PREVIOUS_KEYS (comma-separated), and restart them one by one: they read
               rows under either key and write new rows under the new one.
            2. Run this command with the same two variables. Rows are re-wrapped one by one while
               servers keep serving; it exits 0 once every row is wrapped by the new key.
            3. Remove the old key from AUTHLY_VAULT_PREVIOUS_KEYS after ten minutes (connect flows
               in progress hold state under it).

            Example:
              AUTHLY_VAULT_ENCRYPTION_KEY=$(openssl rand -hex 32) AUTHLY_VAULT_PREVIOUS_KEYS=$OLD authly vault rotate-key
            """) { url, batch };
        command.SetAction(async (parse, ct) =>
        {
            if (Open(parse.GetValue(url)) is not { } db) return 2;
            await using (db)
            {
                if (KeyRing() is not { } ring) return 2;
                var cipher = new VaultCipher(ring);
                var rotation = new VaultKeyRotation(new VaultEntryStore(db, cipher), new VaultProviderStore(db, cipher, new LocalClusterBus(), TimeProvider.System),
                    cipher, NullLogger<VaultKeyRotation>.Instance);
                try
                {
                    var r = await rotation.RunAsync(Math.Clamp(parse.GetValue(batch), 1, 10_000), ct);
                    Console.WriteLine($"Current vault key: {r.CurrentKeyId}");
                    Console.WriteLine($"Re-wrapped: {r.Entries} entries, {r.Providers} provider secrets.");
                    if (r.Unreadable == 0)
                    {
                        Console.WriteLine("Every row is now wrapped by the current key.");
                        return 0;
                    }
                    Console.Error.WriteLine($"error: {r.Unreadable} row(s) could not be opened; they are wrapped by key(s) {string.Join(", ", r.UnknownKeyIds)}. " +
                                            "Add the key(s) to AUTHLY_VAULT_PREVIOUS_KEYS and run again.");
                    return 3;
                }
                catch (NpgsqlException e) { Console.Error.WriteLine($"error: {e.Message}"); return 1; }
            }
        });
        return command;
    }

    private static Command ListProviders()
    {
        var url = DatabaseUrlOption();
        var all = new Option<bool>("--all") { Description = "Include deactivated providers" };
        var command = new Command("list", """
            List upstream providers (never secrets)

            Example:
              DATABASE_URL=postgresql://authly:secret@localhost/authly authly vault providers list --all
            """) { url, all };
        command.SetAction(async (parse, ct) =>
        {
            if (Open(parse.GetValue(url)) is not { } db) return 2;
            await using (db)
            {
                var store = new VaultProviderStore(db, new VaultCipher(KeyRingOrNone()), new LocalClusterBus(), TimeProvider.System);
                try
                {
                    Console.WriteLine($"{"NAME",-20} {"KIND",-6} {"ACTIVE",-6} {"CLIENT_ID",-30} ISSUER");
                    foreach (var p in await store.ListAsync(parse.GetValue(all), ct))
                        Console.WriteLine($"{p.Name,-20} {p.Kind,-6} {(p.IsActive ? "yes" : "no"),-6} {p.ClientId ?? "-",-30} {p.Issuer ?? "(this server)"}");
                    return 0;
                }
                catch (NpgsqlException e) { Console.Error.WriteLine($"error: {e.Message}"); return 1; }
            }
        });
        return command;
    }

    private static Command AddProvider()
    {
        var url = DatabaseUrlOption();
        var name = new Option<string>("--name") { Description = "Short name used in URLs, e.g. keycloak", Required = true };
        var issuer = new Option<string>("--issuer") { Description = "Issuer URL; {issuer}/.well-known/openid-configuration must answer", Required = true };
        var clientId = new Option<string>("--client-id") { Description = "Authly's client id at the provider", Required = true };
        var secretStdin = new Option<bool>("--client-secret-stdin")
        {
            Description = "Read the client secret from standard input (otherwise from $AUTHLY_VAULT_CLIENT_SECRET; never a command-line argument)",
        };
        var method = new Option<string>("--auth-method") { Description = "client_secret_basic, client_secret_post or none", DefaultValueFactory = _ => "client_secret_basic" };
        var scopes = new Option<string?>("--scopes") { Description = $"Scopes the connect flow asks for (default: {VaultProviders.DefaultScopes})" };
        var display = new Option<string?>("--display-name") { Description = "Name shown to users" };
        var noCheck = new Option<bool>("--no-discovery-check") { Description = "Save without fetching the discovery document" };
        var command = new Command("add", """
            Add an upstream OpenID provider. Register Authly there first as a confidential client with
            the redirect URI {AUTHLY_ISSUER}/api/v1/vault/callback, the authorization_code and
            refresh_token grants, and offline_access allowed.

            Example:
              AUTHLY_VAULT_CLIENT_SECRET=… authly vault providers add --name keycloak \
                --issuer https://sso.example.com/realms/main --client-id authly-vault
            """) { url, name, issuer, clientId, secretStdin, method, scopes, display, noCheck };
        command.SetAction(async (parse, ct) =>
        {
            if (Open(parse.GetValue(url)) is not { } db) return 2;
            await using (db)
            {
                if (KeyRing() is not { } ring) return 2;
                var secret = parse.GetValue(secretStdin) ? (await Console.In.ReadLineAsync(ct))?.Trim() : Environment.GetEnvironmentVariable("AUTHLY_VAULT_CLIENT_SECRET");
                var cipher = new VaultCipher(ring);
                using var http = new UpstreamHttp();
                var providers = new VaultProviders(new VaultProviderStore(db, cipher, new LocalClusterBus(), TimeProvider.System),
                    new OidcDiscovery(http, TimeProvider.System), new VaultAudit(db, NullLogger<VaultAudit>.Instance), cipher);
                try
                {
                    var p = await providers.CreateAsync(VaultCaller.CommandLine(), new VaultProviderRegistration
                    {
                        Name = parse.GetValue(name), Issuer = parse.GetValue(issuer), ClientId = parse.GetValue(clientId), ClientSecret = secret,
                        TokenEndpointAuthMethod = parse.GetValue(method), Scopes = parse.GetValue(scopes), DisplayName = parse.GetValue(display),
                        CheckDiscovery = !parse.GetValue(noCheck),
                    }, ct);
                    Console.WriteLine($"Added provider '{p.Name}' ({p.Issuer}). Users connect at /api/v1/vault/connect/{p.Name}.");
                    return 0;
                }
                catch (AuthlyException e) { return ExitCodes.Of(e).Report(); }
                catch (NpgsqlException e) { Console.Error.WriteLine($"error: {e.Message}"); return 1; }
            }
        });
        return command;
    }

    private static Command RemoveProvider()
    {
        var url = DatabaseUrlOption();
        var name = new Option<string>("--name") { Description = "The provider to deactivate", Required = true };
        var command = new Command("remove", """
            Deactivate a provider: its entries stay (and can be revoked) but mint nothing

            Example:
              authly vault providers remove google
            """) { url, name };
        command.SetAction(async (parse, ct) =>
        {
            if (Open(parse.GetValue(url)) is not { } db) return 2;
            await using (db)
            {
                var cipher = new VaultCipher(KeyRingOrNone());
                using var http = new UpstreamHttp();
                var providers = new VaultProviders(new VaultProviderStore(db, cipher, new LocalClusterBus(), TimeProvider.System),
                    new OidcDiscovery(http, TimeProvider.System), new VaultAudit(db, NullLogger<VaultAudit>.Instance), cipher);
                try
                {
                    await providers.DeactivateAsync(VaultCaller.CommandLine(), parse.GetValue(name)!, ct);
                    Console.WriteLine($"Provider '{parse.GetValue(name)}' deactivated.");
                    return 0;
                }
                catch (AuthlyException e) { return ExitCodes.Of(e).Report(); }
                catch (NpgsqlException e) { Console.Error.WriteLine($"error: {e.Message}"); return 1; }
            }
        });
        return command;
    }

    private static NpgsqlDataSource? Open(string? databaseUrl)
    {
        databaseUrl ??= Environment.GetEnvironmentVariable("DATABASE_URL");
        if (string.IsNullOrWhiteSpace(databaseUrl)) { Console.Error.WriteLine("error: set DATABASE_URL or pass --database-url"); return null; }
        try
        {
            DefaultTypeMap.MatchNamesWithUnderscores = true;
            return NpgsqlDataSource.Create(DatabaseUrl.ToConnectionString(databaseUrl));
        }
        catch (FormatException e) { Console.Error.WriteLine($"error: DATABASE_URL is not valid: {e.Message}"); return null; }
    }

    /// <summary>The keys from the environment, read by AuthlyOptions' own parser; null (after saying why) when they are missing or malformed. Never prints a key.</summary>
    private static VaultKeyRing? KeyRing()
    {
        var keys = VaultKeys();
        if (keys is null) return null;
        if (keys.Value.Current is not { } current) { Console.Error.WriteLine("error: AUTHLY_VAULT_ENCRYPTION_KEY is not set (64 hex characters)"); return null; }
        return VaultKeyRing.FromHexKeys(current, keys.Value.Previous);
    }

    private static (string? Current, IReadOnlyList<string> Previous)? VaultKeys()
    {
        try { return AuthlyOptions.LoadVaultKeys(Environment.GetEnvironmentVariable); }
        catch (AuthlyConfigurationException e)
        {
            foreach (var problem in e.Problems) Console.Error.WriteLine($"error: {problem}");
            return null;
        }
    }

    /// <summary>For commands that read no secret: the configured key when there is a valid one, else an empty ring.</summary>
    private static VaultKeyRing KeyRingOrNone()
    {
        string? current = null;
        try { current = AuthlyOptions.LoadVaultKeys(Environment.GetEnvironmentVariable).Current; }
        catch (AuthlyConfigurationException) { } // a bad key only matters to the commands that use it
        return VaultKeyRing.Create(new AuthlyOptions { DatabaseUrl = "", Mode = AuthlyMode.Cli, VaultEncryptionKey = current });
    }
}
