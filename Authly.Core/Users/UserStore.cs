using Dapper;
using Npgsql;

namespace Authly.Users;

public sealed class UserStore(NpgsqlDataSource db)
{
    private const string Columns = """
        id, username, email, password_hash, is_active, is_verified, is_admin, requires_password_change,
        created_at, updated_at, last_login, given_name, family_name, middle_name, nickname, preferred_username,
        profile, picture, website, gender, birthdate, zoneinfo, locale, phone_number, phone_number_verified, address::text AS address
        """;

    private const string FindByUsernameSql = $"SELECT {Columns} FROM users WHERE lower(username) = lower(@Username)";
    public async Task<User?> FindByUsernameAsync(string username, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<User>(new CommandDefinition(FindByUsernameSql, new { Username = username }, cancellationToken: ct));
    }

    private const string FindByIdSql = $"SELECT {Columns} FROM users WHERE id = @Id";
    public async Task<User?> FindByIdAsync(Guid id, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<User>(new CommandDefinition(FindByIdSql, new { Id = id }, cancellationToken: ct));
    }

    private const string InsertSql = $"""
        INSERT INTO users (username, email, password_hash, is_active, is_verified, is_admin, requires_password_change)
        VALUES (@Username, @Email, @PasswordHash, @IsActive, @IsVerified, @IsAdmin, @RequiresPasswordChange)
        RETURNING {Columns}
        """;
    /// <summary>Inserts a user; returns null when the username or email is taken.</summary>
    public async Task<User?> CreateAsync(string username, string email, string passwordHash, bool isActive, bool isVerified,
        bool isAdmin, bool requiresPasswordChange, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        try
        {
            return await conn.QuerySingleAsync<User>(new CommandDefinition(InsertSql, new
            {
                Username = username, Email = email, PasswordHash = passwordHash, IsActive = isActive,
                IsVerified = isVerified, IsAdmin = isAdmin, RequiresPasswordChange = requiresPasswordChange,
            }, cancellationToken: ct));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            return null;
        }
    }

    private const string TouchLoginSql = "UPDATE users SET last_login = now() WHERE id = @Id";
    public async Task RecordLoginAsync(Guid id, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(TouchLoginSql, new { Id = id }, cancellationToken: ct));
    }

    private const string CountSql = "SELECT count(*) FROM users";
    public async Task<long> CountAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await conn.ExecuteScalarAsync<long>(new CommandDefinition(CountSql, cancellationToken: ct));
    }
}
