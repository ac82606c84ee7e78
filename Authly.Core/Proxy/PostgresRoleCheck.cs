using System.Text;
using Npgsql;

namespace Authly.Proxy;

/// <summary>
/// What `authly proxy postgres` checks against the live database before it accepts a single statement
/// (issue 11, finding 7: run as the owner of Authly's database, the proxy let a <c>database:write</c> token
/// read every password hash and make its user an admin). As the proxy's login:
/// <list type="bullet">
/// <item>the login is not a superuser, and it can <c>SET ROLE</c> to --role;</item>
/// <item>no role the login can become — itself, --role, and every role either belongs to — is a
/// superuser, has BYPASSRLS (row-level security is how the proxy keeps users apart) or CREATEROLE (it
/// could grant itself any other role), owns or can create in the schema that holds Authly's tables, or
/// owns or has any privilege on a table, view or sequence there.</item>
/// </list>
/// Every role the login can become, not only --role: with --admin-scope a caller may send
/// <c>RESET ROLE</c> or <c>SET ROLE</c>, and the login's password sits in the proxy's configuration,
/// which should not open Authly either.
/// Authly's schema is the one holding its migration journal, <c>schema_migrations</c> with the
/// <c>checksum</c> column <see cref="Storage.Migrator"/> creates (Rails' and golang-migrate's journals of the
/// same name have no such column). Every relation in that schema counts, not a list of today's tables, so
/// a proxy older than Authly's newest migration still protects the tables it adds.
/// </summary>
public static class PostgresRoleCheck
{
    private const string LoginSql = "SELECT session_user::text, rolsuper FROM pg_roles WHERE rolname = session_user";

    private const string RoleExistsSql = "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)";

    // set_config('role', …) is SET ROLE with the name bound as a parameter; true keeps it inside the transaction.
    private const string SetRoleSql = "SELECT set_config('role', $1, true)";

    private const string ProblemsSql = """
        WITH reachable AS (
            SELECT oid, rolname, rolsuper, rolbypassrls, rolcreaterole FROM pg_roles
            WHERE pg_has_role(session_user, oid, 'MEMBER')
        ),
        authly_schemas AS (
            SELECT DISTINCT n.oid, n.nspname, n.nspowner
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'checksum' AND NOT a.attisdropped
            WHERE c.relname = 'schema_migrations' AND c.relkind IN ('r', 'p')
        ),
        authly_relations AS (
            SELECT c.oid, c.relname, c.relkind, c.relowner, s.nspname
            FROM pg_class c JOIN authly_schemas s ON s.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
        )
        SELECT r.rolname::text, 'is a superuser' FROM reachable r WHERE r.rolsuper
        UNION ALL
        SELECT r.rolname::text, 'has BYPASSRLS: row-level security does not apply to it' FROM reachable r WHERE r.rolbypassrls
        UNION ALL
        SELECT r.rolname::text, 'has CREATEROLE: it can grant itself other roles' FROM reachable r WHERE r.rolcreaterole
        UNION ALL
        SELECT r.rolname::text, format('owns schema %I, where Authly keeps its tables', s.nspname)
        FROM reachable r JOIN authly_schemas s ON s.nspowner = r.oid
        UNION ALL
        SELECT r.rolname::text, format('can CREATE in schema %I, where Authly keeps its tables', s.nspname)
        FROM reachable r CROSS JOIN authly_schemas s
        WHERE s.nspowner <> r.oid AND has_schema_privilege(r.oid, s.oid, 'CREATE')
        UNION ALL
        SELECT r.rolname::text, format('owns %I.%I, one of Authly''s tables', c.nspname, c.relname)
        FROM reachable r JOIN authly_relations c ON c.relowner = r.oid
        UNION ALL
        SELECT r.rolname::text, format('has %s on %I.%I, one of Authly''s tables', p.privileges, c.nspname, c.relname)
        FROM reachable r CROSS JOIN authly_relations c
        CROSS JOIN LATERAL (
            SELECT string_agg(x.privilege, ', ' ORDER BY x.n) AS privileges
            FROM unnest(CASE WHEN c.relkind = 'S' THEN ARRAY['USAGE', 'SELECT', 'UPDATE']
                             ELSE ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'] END)
                 WITH ORDINALITY AS x(privilege, n)
            WHERE CASE
                WHEN c.relkind = 'S' THEN has_sequence_privilege(r.oid, c.oid, x.privilege)
                -- column grants count too: GRANT SELECT (password_hash) ON users is a way in
                WHEN x.privilege IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES') THEN has_any_column_privilege(r.oid, c.oid, x.privilege)
                ELSE has_table_privilege(r.oid, c.oid, x.privilege)
            END
        ) p
        WHERE c.relowner <> r.oid AND p.privileges IS NOT NULL
        """;

    /// <summary>Most problems listed one by one; a role that owns Authly's schema would otherwise fill a screen.</summary>
    private const int MaxListed = 12;

    /// <summary>Throws <see cref="ProxyErrors.UnsafeDatabaseRole"/> (409, code UNSAFE_DATABASE_ROLE) when the proxy must not run with this login and <paramref name="role"/>.</summary>
    public static async Task VerifyAsync(NpgsqlDataSource db, string role, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        string login;
        bool superuser;
        await using (var whoami = new NpgsqlCommand(LoginSql, conn))
        await using (var reader = await whoami.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            (login, superuser) = (reader.GetString(0), reader.GetBoolean(1));
        }

        var problems = new List<string>();
        if (superuser)
        {
            // A superuser can become any role and bypasses every privilege: nothing else is worth listing.
            problems.Add($"{login}, the login, is a superuser");
        }
        else
        {
            if (!await CanSetRoleAsync(conn, role, ct))
                problems.Add(await ScalarAsync<bool>(conn, RoleExistsSql, role, ct)
                    ? $"{login} cannot SET ROLE {role}: GRANT {role} TO {login};"
                    : $"role {role} does not exist: CREATE ROLE {role} NOLOGIN; GRANT {role} TO {login};");
            await using var command = new NpgsqlCommand(ProblemsSql, conn);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var name = reader.GetString(0);
                var who = name == login ? $"{name}, the login," : name == role ? $"{name}, the --role," : $"{name}, a role {login} can become,";
                problems.Add($"{who} {reader.GetString(1)}");
            }
        }
        if (problems.Count > 0) throw ProxyErrors.UnsafeDatabaseRole(Message(login, superuser, role, problems));
    }

    private static async Task<bool> CanSetRoleAsync(NpgsqlConnection conn, string role, CancellationToken ct)
    {
        await using var tx = await conn.BeginTransactionAsync(ct);
        try
        {
            await using var set = new NpgsqlCommand(SetRoleSql, conn, tx) { Parameters = { new() { Value = role } } };
            await set.ExecuteNonQueryAsync(ct);
            return true;
        }
        catch (PostgresException) { return false; }
        finally { await tx.RollbackAsync(CancellationToken.None); }
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection conn, string sql, string value, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, conn) { Parameters = { new() { Value = value } } };
        return (T)(await command.ExecuteScalarAsync(ct))!;
    }

    private static string Message(string login, bool superuser, string role, List<string> problems)
    {
        // The login is only worth keeping in the advice when nothing is wrong with the login itself.
        var loginAtFault = superuser || problems.Any(p => p.StartsWith(login + ", the login,", StringComparison.Ordinal));
        var proxyLogin = loginAtFault ? "authly_proxy" : login;
        var text = new StringBuilder("The PostgreSQL proxy will not start: callers' statements would run with rights they must not have.\n");
        foreach (var p in problems.Take(MaxListed)) text.Append("  - ").Append(p).Append('\n');
        if (problems.Count > MaxListed) text.Append($"  - and {problems.Count - MaxListed} more\n");
        text.Append($"""
            Statements must run as a role with rights on the application's tables only, and the proxy must log in
            as a role that can do nothing but become it (see examples/postgres-proxy-rls.sql):
              CREATE ROLE {role} NOLOGIN;
              GRANT SELECT, INSERT, UPDATE, DELETE ON <application tables> TO {role};
            """);
        text.Append('\n');
        if (loginAtFault) text.Append($"  CREATE ROLE {proxyLogin} LOGIN NOINHERIT PASSWORD '<password>';\n");
        text.Append($"  GRANT {role} TO {proxyLogin};\n");
        text.Append($"then start the proxy with --role {role} and a --database-url that logs in as {proxyLogin}. ");
        text.Append("Keep the application's tables in a database (or schema) of their own, not in Authly's.");
        return text.ToString();
    }
}
