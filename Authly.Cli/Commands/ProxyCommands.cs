using System.CommandLine;
using Authly.Proxy;
using Authly.Server.Proxy;

namespace Authly.Cli.Commands;

/// <summary>`authly proxy postgres|redis`: PostgreSQL and Redis behind Authly bearer tokens instead of passwords.</summary>
public static class ProxyCommands
{
    public static Command Create()
    {
        var command = new Command("proxy", """
            OAuth-protected PostgreSQL and Redis: a bearer token with database:* or cache:* scopes instead of a password.

            Examples:
              authly proxy postgres --database-url postgresql://authly_proxy:secret@localhost/app --role authly_app
              authly proxy redis --redis-url redis://:secret@localhost:6379
            """);
        command.Subcommands.Add(Kind("postgres", ProxyOptions.DefaultPostgresPort, ProxyOptions.DefaultPostgresWirePort, """
            Run the PostgreSQL proxy: POST /query over HTTP, and the PostgreSQL wire protocol with the token as password.

            database:read allows SELECT/WITH/SHOW/EXPLAIN; database:write allows INSERT/UPDATE/DELETE/MERGE/COPY FROM STDIN;
            DDL, SET, transaction control and file/network functions are refused unless --admin-scope names a scope that allows them.
            Each query runs in its own transaction as --role, with authly.user_id, authly.username, authly.client_id and
            authly.scopes set for row-level security (see examples/postgres-proxy-rls.sql). --role is required, and the proxy
            refuses to start (exit 2) when the login or a role it can become is a superuser, has BYPASSRLS or CREATEROLE,
            or has rights on Authly's own tables, or when the login cannot SET ROLE to --role.

            Examples:
              DATABASE_URL=postgresql://authly_proxy:secret@localhost:5432/app authly proxy postgres --role authly_app
              curl -s localhost:5433/query -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
                   -d '{"query":"SELECT * FROM notes WHERE id = $1","params":[42]}'
              PGPASSWORD=$TOKEN psql -h 127.0.0.1 -p 5434 -U me app
            """));
        command.Subcommands.Add(Kind("redis", ProxyOptions.DefaultRedisPort, ProxyOptions.DefaultRedisWirePort, """
            Run the Redis proxy: POST /command over HTTP, and RESP (redis-cli) with AUTH <token>.

            cache:read allows read commands, cache:write write commands; admin, scripting, KEYS, FLUSH*, CONFIG, pub/sub
            and the like are refused. Every key is confined to user:<sub>: of the token's subject.

            Examples:
              REDIS_URL=redis://:secret@localhost:6379 authly proxy redis
              curl -s localhost:6380/command -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
                   -d '{"command":"SET","args":["greeting","hello"]}'
              redis-cli -p 6381 --user me --pass "$TOKEN" GET greeting
            """));
        return command;
    }

    private static Command Kind(string kind, int defaultPort, int defaultWirePort, string description)
    {
        var authlyUrl = new Option<string?>("--authly-url") { Description = "Authly's base URL (default: $AUTHLY_URL or http://127.0.0.1:8000)" };
        var host = new Option<string?>("--host") { Description = "Address to listen on (default: $AUTHLY_PROXY_HOST or 127.0.0.1)" };
        var port = new Option<int>("--port") { Description = "HTTP port", DefaultValueFactory = _ => defaultPort };
        var wirePort = new Option<int>("--wire-port") { Description = kind == "postgres" ? "PostgreSQL wire-protocol port" : "RESP port", DefaultValueFactory = _ => defaultWirePort };
        var noWire = new Option<bool>("--no-wire") { Description = "HTTP only: do not open the wire-protocol port" };
        var audience = new Option<string?>("--audience") { Description = "Required token audience (default: Authly's issuer)" };
        var command = new Command(kind, description) { authlyUrl, host, port, wirePort, noWire, audience };

        Option<string?>? databaseUrl = null, role = null, adminScope = null, redisUrl = null;
        Option<int?>? timeout = null, maxRows = null, maxBytes = null;
        if (kind == "postgres")
        {
            databaseUrl = new Option<string?>("--database-url") { Description = "The PostgreSQL to proxy (default: $AUTHLY_PROXY_DATABASE_URL, then $DATABASE_URL)" };
            role = new Option<string?>("--role") { Description = "Low-privilege role every query runs as (SET LOCAL ROLE; default: $AUTHLY_PROXY_DB_ROLE; required)" };
            adminScope = new Option<string?>("--admin-scope") { Description = "A scope that allows DDL and other admin statements (default: none, refused)" };
            timeout = new Option<int?>("--statement-timeout-ms") { Description = "Per-statement timeout (default 5000)" };
            maxRows = new Option<int?>("--max-rows") { Description = "Most rows a result may have (default 1000)" };
            maxBytes = new Option<int?>("--max-response-bytes") { Description = "Largest result (default 1048576)" };
            command.Options.Add(databaseUrl);
            command.Options.Add(role);
            command.Options.Add(adminScope);
            command.Options.Add(timeout);
            command.Options.Add(maxRows);
            command.Options.Add(maxBytes);
        }
        else
        {
            redisUrl = new Option<string?>("--redis-url") { Description = "The Redis to proxy (default: $AUTHLY_PROXY_REDIS_URL, then $REDIS_URL)" };
            command.Options.Add(redisUrl);
        }

        command.SetAction(async (parse, ct) =>
        {
            ProxyOptions options;
            try { options = ProxyOptions.FromEnvironment(Environment.GetEnvironmentVariable); }
            catch (FormatException e) { Console.Error.WriteLine("error: " + e.Message); return 2; }
            options = options with
            {
                AuthlyUrl = parse.GetValue(authlyUrl) ?? options.AuthlyUrl,
                ListenHost = parse.GetValue(host) ?? options.ListenHost,
                Port = parse.GetValue(port),
                WirePort = parse.GetValue(noWire) ? null : parse.GetValue(wirePort),
                Audience = parse.GetValue(audience) ?? options.Audience,
            };
            if (kind == "postgres")
            {
                options = options with
                {
                    DatabaseUrl = parse.GetValue(databaseUrl!) ?? options.DatabaseUrl,
                    DatabaseRole = parse.GetValue(role!) ?? options.DatabaseRole,
                    AdminScope = parse.GetValue(adminScope!) ?? options.AdminScope,
                    StatementTimeout = parse.GetValue(timeout!) is { } ms ? TimeSpan.FromMilliseconds(ms) : options.StatementTimeout,
                    MaxRows = parse.GetValue(maxRows!) ?? options.MaxRows,
                    MaxResponseBytes = parse.GetValue(maxBytes!) ?? options.MaxResponseBytes,
                };
                if (options.StatementTimeout <= TimeSpan.Zero || options.MaxRows < 1 || options.MaxResponseBytes < 1024)
                {
                    Console.Error.WriteLine("error: --statement-timeout-ms and --max-rows must be positive, --max-response-bytes at least 1024");
                    return 2;
                }
            }
            else options = options with { RedisUrl = parse.GetValue(redisUrl!) ?? options.RedisUrl };

            var problems = options.Problems(kind);
            if (problems.Count > 0)
            {
                foreach (var p in problems) Console.Error.WriteLine("error: " + p);
                return 2;
            }
            if (options.ClientId is null)
                Console.Error.WriteLine("warning: no AUTHLY_PROXY_CLIENT_ID/AUTHLY_PROXY_CLIENT_SECRET: introspection is anonymous, which Authly " +
                                        "answers only in embedded or testing mode (RFC 7662 §2.1); against a production Authly every token " +
                                        "check fails (503) until they name a confidential client");
            try
            {
                await using var server = await ProxyServer.StartAsync(kind, options, ct: ct);
                var wireHost = options.ListenHost;
                Console.WriteLine(kind == "postgres"
                    ? $"""

                       Authly PostgreSQL proxy is running (tokens checked with {options.AuthlyUrl})
                         HTTP    POST {server.Url}/query   (Authorization: Bearer <token>)
                         Health  {server.Url}/health
                         Wire    {(server.WirePort is { } w ? $"PGPASSWORD=<token> psql -h {wireHost} -p {w} -U <you> <database>" : "off")}
                         Role    {options.DatabaseRole}

                       Press Ctrl-C to stop.
                       """
                    : $"""

                       Authly Redis proxy is running (tokens checked with {options.AuthlyUrl})
                         HTTP    POST {server.Url}/command   (Authorization: Bearer <token>)
                         Health  {server.Url}/health
                         Wire    {(server.WirePort is { } rw ? $"redis-cli -h {wireHost} -p {rw} --pass <token>" : "off")}

                       Press Ctrl-C to stop.
                       """);
                await server.WaitForShutdownAsync(ct);
                return 0;
            }
            catch (OperationCanceledException) { return 0; }
            catch (AuthlyException e) when (e.Code == ProxyErrors.UnsafeDatabaseRoleCode)
            {
                Console.Error.WriteLine("error: " + e.Detail);
                return 2;
            }
            catch (Npgsql.NpgsqlException e)
            {
                // The role check at start needs the database: unreachable, or the login refused.
                Console.Error.WriteLine("error: cannot check the proxy's database login and --role: " + e.Message);
                return 1;
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or ArgumentException)
            {
                Console.Error.WriteLine("error: " + e.Message);
                return 1;
            }
        });
        return command;
    }
}
