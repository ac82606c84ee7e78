using Authly.Security;
using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Mfa;

/// <summary>
/// Logins between the password and the second factor (table pending_logins). The browser holds an
/// opaque secret; only its hash is stored. A pending login is never a session: it opens no page but
/// the second-factor step and the enrolment it requires, lives <see cref="Lifetime"/>, and is
/// completed by one UPDATE, so it yields at most one session.
/// </summary>
public sealed class PendingLoginStore(NpgsqlDataSource db)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);

    public sealed record PendingLogin
    {
        public Guid UserId { get; init; }
        public string[] Amr { get; init; } = [];
        public bool MustEnrol { get; init; }
    }

    private const string InsertSql = "INSERT INTO pending_logins (id_hash, user_id, amr, must_enrol, expires_at) VALUES (@Hash, @UserId, @Amr, @MustEnrol, now() + @Lifetime)";

    /// <summary>Starts a pending login; returns its secret (for the browser's cookie, once).</summary>
    public async Task<string> CreateAsync(Guid userId, IReadOnlyList<string> amr, bool mustEnrol, CancellationToken ct)
    {
        var secret = OpaqueToken.New(32);
        await using var conn = await db.OpenAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(InsertSql, new
        {
            Hash = OpaqueToken.Hash(secret), UserId = userId, Amr = amr.ToArray(), MustEnrol = mustEnrol, Lifetime,
        }, cancellationToken: ct));
        return secret;
    }

    private const string FindSql = "SELECT user_id, amr, must_enrol FROM pending_logins WHERE id_hash = @Hash AND completed_at IS NULL AND expires_at > now()";

    public async Task<PendingLogin?> FindAsync(string? secret, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(secret) || secret.Length > 100) return null;
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<PendingLogin>(new CommandDefinition(FindSql, new { Hash = OpaqueToken.Hash(secret) }, cancellationToken: ct));
    }

    private const string CompleteSql = """
        UPDATE pending_logins SET completed_at = now()
        WHERE id_hash = @Hash AND user_id = @UserId AND completed_at IS NULL AND expires_at > now()
        """;

    /// <summary>Ends the pending login of <paramref name="userId"/>; true for the one caller that did.</summary>
    public async Task<bool> CompleteAsync(string secret, Guid userId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(CompleteSql, new { Hash = OpaqueToken.Hash(secret), UserId = userId }, cancellationToken: ct)) == 1;
    }

    private const string EndAllSql = "UPDATE pending_logins SET completed_at = now() WHERE user_id = @UserId AND completed_at IS NULL";

    /// <summary>Ends every pending login of a user (their factors were reset).</summary>
    public async Task EndAllAsync(Guid userId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(EndAllSql, new { UserId = userId }, cancellationToken: ct));
    }
}
