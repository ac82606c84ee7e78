using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Users;

public sealed class UserStore(NpgsqlDataSource db)
{
    private const string Columns = """
        id, username, email, password_hash, is_active, is_verified, is_admin, requires_password_change, mfa_required,
        created_at, updated_at, last_login, given_name, family_name, middle_name, nickname, preferred_username,
        profile, picture, website, gender, birthdate, zoneinfo, locale, phone_number, phone_number_verified, address::text AS address
        """;

    private const string FindByUsernameSql = $"SELECT {Columns} FROM users WHERE lower(username) = lower(@Username)";
    public async Task<User?> FindByUsernameAsync(string username, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<User>(new CommandDefinition(FindByUsernameSql, new { Username = username }, cancellationToken: ct));
    }

    private const string FindByIdSql = $"SELECT {Columns} FROM users WHERE id = @Id";

    /// <summary>
    /// The statement that reads a user as <see cref="FindByIdAsync(Guid, CancellationToken)"/> does, for another store's batch
    /// (a redemption reads its user in the same round trip as its own rows): <paramref name="idExpression"/> is an SQL
    /// expression over that batch's parameters, e.g. a subquery by token hash.
    /// </summary>
    internal static string SelectByIdSql(string idExpression) => $"SELECT {Columns} FROM users WHERE id = ({idExpression})";
    public async Task<User?> FindByIdAsync(Guid id, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
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
        await using var conn = await db.OpenAsync(ct);
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

    private const string SetMfaRequiredSql = $"UPDATE users SET mfa_required = @Required, updated_at = now() WHERE id = @Id RETURNING {Columns}";

    /// <summary>Issue 16: sets the per-user second-factor policy; null when the user does not exist.</summary>
    public async Task<User?> SetMfaRequiredAsync(Guid id, bool required, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<User>(new CommandDefinition(SetMfaRequiredSql, new { Id = id, Required = required }, cancellationToken: ct));
    }

    private const string TouchLoginSql = "UPDATE users SET last_login = now() WHERE id = @Id";
    public async Task RecordLoginAsync(Guid id, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(TouchLoginSql, new { Id = id }, cancellationToken: ct));
    }

    private const string CountActiveAdminsSql = "SELECT count(*) FROM users WHERE is_admin AND is_active";
    public async Task<long> CountActiveAdminsAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<long>(new CommandDefinition(CountActiveAdminsSql, cancellationToken: ct));
    }

    public sealed record ListFilter(string? Username = null, string? Email = null, bool? IsActive = null, bool? IsAdmin = null,
        bool? IsVerified = null, string? Search = null);

    private const string ListWhere = """
        WHERE (@Username::text IS NULL OR lower(username) LIKE '%' || lower(@Username) || '%')
          AND (@Email::text IS NULL OR lower(email) LIKE '%' || lower(@Email) || '%')
          AND (@IsActive::boolean IS NULL OR is_active = @IsActive)
          AND (@IsAdmin::boolean IS NULL OR is_admin = @IsAdmin)
          AND (@IsVerified::boolean IS NULL OR is_verified = @IsVerified)
          AND (@Search::text IS NULL OR lower(username) LIKE '%' || lower(@Search) || '%' OR lower(email) LIKE '%' || lower(@Search) || '%')
        """;
    private const string ListSql = $"SELECT {Columns} FROM users {ListWhere} ORDER BY created_at, id LIMIT @Limit OFFSET @Offset";
    private const string CountFilteredSql = $"SELECT count(*) FROM users {ListWhere}";

    /// <summary>A page of users and the total matching the filter. LIKE wildcards in the filter are matched literally.</summary>
    public async Task<(IReadOnlyList<User> Users, long Total)> ListAsync(ListFilter filter, int limit, int offset, CancellationToken ct)
    {
        // PostgreSQL text never holds NUL, so no user matches such a filter (and the server would refuse the parameter).
        if (new[] { filter.Username, filter.Email, filter.Search }.Any(s => s is not null && s.Contains('\0'))) return ([], 0);
        var args = new
        {
            Username = EscapeLike(filter.Username), Email = EscapeLike(filter.Email), filter.IsActive, filter.IsAdmin, filter.IsVerified,
            Search = EscapeLike(filter.Search), Limit = limit, Offset = offset,
        };
        await using var conn = await db.OpenAsync(ct);
        var users = (await conn.QueryAsync<User>(new CommandDefinition(ListSql, args, cancellationToken: ct))).AsList();
        var total = await conn.ExecuteScalarAsync<long>(new CommandDefinition(CountFilteredSql, args, cancellationToken: ct));
        return (users, total);
    }

    private static string? EscapeLike(string? s) => s?.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");

    // The last-admin rule is enforced in the statement itself, under a lock on the admin rows,
    // so two concurrent demotions cannot both succeed.
    private const string UpdateSql = $"""
        WITH admins AS (SELECT id FROM users WHERE is_admin AND is_active FOR UPDATE)
        UPDATE users SET
            username = COALESCE(@Username, username), email = COALESCE(@Email, email),
            password_hash = COALESCE(@PasswordHash, password_hash),
            is_active = COALESCE(@IsActive, is_active), is_verified = COALESCE(@IsVerified, is_verified),
            is_admin = COALESCE(@IsAdmin, is_admin),
            requires_password_change = COALESCE(@RequiresPasswordChange, requires_password_change),
            given_name = COALESCE(@GivenName, given_name), family_name = COALESCE(@FamilyName, family_name),
            middle_name = COALESCE(@MiddleName, middle_name), nickname = COALESCE(@Nickname, nickname),
            preferred_username = COALESCE(@PreferredUsername, preferred_username), profile = COALESCE(@Profile, profile),
            picture = COALESCE(@Picture, picture), website = COALESCE(@Website, website), gender = COALESCE(@Gender, gender),
            birthdate = COALESCE(@Birthdate, birthdate), zoneinfo = COALESCE(@Zoneinfo, zoneinfo), locale = COALESCE(@Locale, locale),
            phone_number = COALESCE(@PhoneNumber, phone_number),
            phone_number_verified = COALESCE(@PhoneNumberVerified, phone_number_verified),
            address = COALESCE(@Address::jsonb, address),
            updated_at = now()
        WHERE id = @Id
          AND NOT (is_admin AND is_active AND (@IsAdmin = false OR @IsActive = false) AND (SELECT count(*) FROM admins) <= 1)
        RETURNING {Columns}
        """;

    /// <summary>
    /// Applies the given fields. Returns null when the user does not exist; throws when the change
    /// would leave no active admin, or the username/email is taken.
    /// </summary>
    public async Task<User?> UpdateAsync(Guid id, UserProfile p, string? passwordHash, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        try
        {
            var user = await conn.QuerySingleOrDefaultAsync<User>(new CommandDefinition(UpdateSql, new
            {
                Id = id, p.Username, p.Email, PasswordHash = passwordHash, p.IsActive, p.IsVerified, p.IsAdmin, p.RequiresPasswordChange,
                p.GivenName, p.FamilyName, p.MiddleName, p.Nickname, p.PreferredUsername, p.Profile, p.Picture, p.Website, p.Gender,
                p.Birthdate, p.Zoneinfo, p.Locale, p.PhoneNumber, p.PhoneNumberVerified, Address = p.Address?.GetRawText(),
            }, tx, cancellationToken: ct));
            if (user is null && await conn.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT EXISTS (SELECT 1 FROM users WHERE id = @Id)", new { Id = id }, tx, cancellationToken: ct)))
                throw AuthlyException.Validation("This is the last active admin: it can be neither demoted nor deactivated", "is_admin");
            await tx.CommitAsync(ct);
            return user;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw e.ConstraintName == "users_email_key"
                ? AuthlyException.Validation("Email already registered", "email")
                : AuthlyException.Validation("Username already taken", "username");
        }
    }

    private const string DeleteSql = """
        WITH admins AS (SELECT id FROM users WHERE is_admin AND is_active FOR UPDATE)
        DELETE FROM users WHERE id = @Id
          AND NOT (is_admin AND is_active AND (SELECT count(*) FROM admins) <= 1)
        """;

    /// <summary>Deletes a user; false when there is none; throws for the last active admin.</summary>
    public async Task<bool> DeleteAsync(Guid id, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        var n = await conn.ExecuteAsync(new CommandDefinition(DeleteSql, new { Id = id }, tx, cancellationToken: ct));
        if (n == 0 && await conn.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT EXISTS (SELECT 1 FROM users WHERE id = @Id)", new { Id = id }, tx, cancellationToken: ct)))
            throw AuthlyException.Validation("This is the last active admin: it cannot be deleted", "id");
        await tx.CommitAsync(ct);
        return n > 0;
    }
}
