using Dapper;
using Npgsql;

namespace Authly.Tests.Proxies;

/// <summary>
/// The database roles the PostgreSQL proxy is meant to run with, as examples/postgres-proxy-rls.sql
/// creates them: <see cref="Login"/>, a login with no rights of its own that can only become
/// <see cref="Role"/>, the NOLOGIN role every statement runs as. Roles belong to the whole server, so
/// everything that creates or grants roles goes through one lock: parallel fixtures would otherwise
/// race on the same catalog rows ("tuple concurrently updated").
/// </summary>
internal static class ProxyRoles
{
    public const string Login = "authly_proxy";
    public const string Role = "authly_app";
    public const string Password = "proxy-login-password";

    private static readonly SemaphoreSlim RoleDdl = new(1, 1);

    // Role names and the password are the constants above: nothing from outside reaches this text.
    private const string CreateSql = $$"""
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{{Role}}') THEN CREATE ROLE {{Role}} NOLOGIN; END IF;
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{{Login}}') THEN CREATE ROLE {{Login}} LOGIN NOINHERIT; END IF;
        END
        $$;
        ALTER ROLE {{Login}} PASSWORD '{{Password}}';
        GRANT {{Role}} TO {{Login}};
        """;

    /// <summary>Runs SQL that creates or grants roles (as the superuser of <paramref name="superuser"/>'s server), one caller at a time.</summary>
    public static async Task RunRoleSqlAsync(string superuser, string sql, object? args = null)
    {
        await RoleDdl.WaitAsync();
        try
        {
            await using var conn = new NpgsqlConnection(superuser + ";Pooling=false");
            await conn.OpenAsync();
            await conn.ExecuteAsync(sql, args);
        }
        finally { RoleDdl.Release(); }
    }

    /// <summary>
    /// Makes sure the login and the role exist on the server of <paramref name="superuser"/> (a
    /// superuser's connection string) and returns the same database's connection string as the login.
    /// </summary>
    public static async Task<string> LoginAsync(string superuser)
    {
        await RunRoleSqlAsync(superuser, CreateSql);
        return As(superuser, Login, Password);
    }

    /// <summary>The connection string of the same database as another user.</summary>
    public static string As(string connectionString, string user, string password) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Username = user, Password = password }.ConnectionString;

    /// <summary>SELECT, INSERT, UPDATE, DELETE on every table of the public schema, and its sequences, to <see cref="Role"/>.</summary>
    public static async Task GrantTablesAsync(string superuser)
    {
        await using var conn = new NpgsqlConnection(superuser + ";Pooling=false");
        await conn.OpenAsync();
        await conn.ExecuteAsync($"""
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {Role};
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {Role};
            """);
    }
}
