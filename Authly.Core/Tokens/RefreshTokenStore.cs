using Authly.Security;
using Dapper;
using Npgsql;

namespace Authly.Tokens;

/// <summary>
/// Opaque refresh tokens in families (one family per grant), stored only as SHA-256 hashes.
/// Rotation is one atomic UPDATE; presenting a token that was already rotated is reuse and
/// revokes the whole family (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2).
/// </summary>
public sealed class RefreshTokenStore(NpgsqlDataSource db, TimeProvider clock)
{
    public sealed record Row
    {
        public Guid Id { get; init; }
        public Guid FamilyId { get; init; }
        public Guid UserId { get; init; }
        public string? ClientId { get; init; }
        public string Scope { get; init; } = "";
        public DateTime IssuedAt { get; init; }
        public DateTime ExpiresAt { get; init; }
        public DateTime? RotatedAt { get; init; }
        public DateTime? FamilyRevokedAt { get; init; }
        public string? Username { get; init; }
    }

    public enum RotateStatus { Rotated, Unknown, Expired, Revoked, Reused }

    public sealed record RotateResult(RotateStatus Status, Row? Token, IReadOnlyList<(string Jti, DateTime ExpiresAt)> RevokedAccessTokens);

    private const string CreateFamilySql = "INSERT INTO refresh_token_families (user_id, client_id) VALUES (@UserId, @ClientId) RETURNING id";
    private const string InsertSql = """
        INSERT INTO refresh_tokens (family_id, token_hash, user_id, client_id, scope, expires_at, access_jti, access_expires_at)
        VALUES (@FamilyId, @Hash, @UserId, @ClientId, @Scope, @ExpiresAt, @AccessJti, @AccessExpiresAt)
        """;

    /// <summary>Issues a refresh token in <paramref name="familyId"/> (a new family when null); returns the token and its family.</summary>
    public async Task<(string Token, Guid FamilyId)> IssueAsync(Guid? familyId, Guid userId, string? clientId, string scope,
        TimeSpan lifetime, string accessJti, DateTimeOffset accessExpires, CancellationToken ct)
    {
        var token = OpaqueToken.New(32);
        await using var conn = await db.OpenConnectionAsync(ct);
        var family = familyId ?? await conn.ExecuteScalarAsync<Guid>(new CommandDefinition(CreateFamilySql, new { UserId = userId, ClientId = clientId }, cancellationToken: ct));
        await conn.ExecuteAsync(new CommandDefinition(InsertSql, new
        {
            FamilyId = family, Hash = OpaqueToken.Hash(token), UserId = userId, ClientId = clientId, Scope = scope,
            ExpiresAt = (clock.GetUtcNow() + lifetime).UtcDateTime, AccessJti = accessJti, AccessExpiresAt = accessExpires.UtcDateTime,
        }, cancellationToken: ct));
        return (token, family);
    }

    private const string Columns = """
        t.id, t.family_id, t.user_id, t.client_id, t.scope, t.issued_at, t.expires_at, t.rotated_at,
        f.revoked_at AS family_revoked_at, u.username
        """;

    // One statement marks the token used, and only if nobody else has: two concurrent uses
    // cannot both succeed (the loser is treated as reuse).
    private const string RotateSql = $"""
        UPDATE refresh_tokens t SET rotated_at = @Now
        FROM refresh_token_families f, users u
        WHERE t.token_hash = @Hash AND f.id = t.family_id AND u.id = t.user_id
          AND t.rotated_at IS NULL AND f.revoked_at IS NULL AND t.expires_at > @Now
        RETURNING {Columns}
        """;
    private const string FindSql = $"""
        SELECT {Columns} FROM refresh_tokens t
        JOIN refresh_token_families f ON f.id = t.family_id JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = @Hash
        """;

    public async Task<RotateResult> RotateAsync(string token, CancellationToken ct)
    {
        if (token.Length > 512) return new RotateResult(RotateStatus.Unknown, null, []);
        var hash = OpaqueToken.Hash(token);
        var now = clock.GetUtcNow().UtcDateTime;
        await using var conn = await db.OpenConnectionAsync(ct);
        var row = await conn.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(RotateSql, new { Hash = hash, Now = now }, cancellationToken: ct));
        if (row is not null) return new RotateResult(RotateStatus.Rotated, row, []);

        var existing = await conn.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(FindSql, new { Hash = hash }, cancellationToken: ct));
        if (existing is null) return new RotateResult(RotateStatus.Unknown, null, []);
        if (existing.FamilyRevokedAt is not null) return new RotateResult(RotateStatus.Revoked, existing, []);
        if (existing.RotatedAt is not null)
        {
            var revoked = await RevokeFamilyAsync(conn, existing.FamilyId, "refresh token reuse detected", ct);
            return new RotateResult(RotateStatus.Reused, existing, revoked);
        }
        return new RotateResult(RotateStatus.Expired, existing, []);
    }

    /// <summary>A refresh token that is current: not rotated, not expired, family not revoked.</summary>
    public async Task<Row?> FindActiveAsync(string token, CancellationToken ct)
    {
        var row = await FindAsync(token, ct);
        return row is { RotatedAt: null, FamilyRevokedAt: null } && row.ExpiresAt > clock.GetUtcNow().UtcDateTime ? row : null;
    }

    public async Task<Row?> FindAsync(string token, CancellationToken ct)
    {
        if (token.Length > 512) return null;
        await using var conn = await db.OpenConnectionAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(FindSql, new { Hash = OpaqueToken.Hash(token) }, cancellationToken: ct));
    }

    /// <summary>Revokes a family; returns the still-live access tokens issued from it, for the revocation list.</summary>
    public async Task<IReadOnlyList<(string Jti, DateTime ExpiresAt)>> RevokeFamilyAsync(Guid familyId, string reason, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await RevokeFamilyAsync(conn, familyId, reason, ct);
    }

    private const string RevokeFamilySql = """
        UPDATE refresh_token_families SET revoked_at = now(), revoked_reason = @Reason
        WHERE id = @FamilyId AND revoked_at IS NULL
        """;
    private const string FamilyAccessTokensSql = """
        SELECT access_jti, access_expires_at FROM refresh_tokens WHERE family_id = @FamilyId AND access_expires_at > now()
        """;

    private static async Task<IReadOnlyList<(string Jti, DateTime ExpiresAt)>> RevokeFamilyAsync(NpgsqlConnection conn, Guid familyId, string reason, CancellationToken ct)
    {
        await conn.ExecuteAsync(new CommandDefinition(RevokeFamilySql, new { FamilyId = familyId, Reason = reason }, cancellationToken: ct));
        return (await conn.QueryAsync<(string, DateTime)>(new CommandDefinition(FamilyAccessTokensSql, new { FamilyId = familyId }, cancellationToken: ct))).AsList();
    }

    private const string UserFamiliesSql = """
        SELECT id FROM refresh_token_families f
        WHERE user_id = @UserId AND revoked_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.id AND t.access_jti = @KeepAccessJti)
        """;

    /// <summary>Revokes every family of a user (deactivation, password reset, logout everywhere).</summary>
    public Task<IReadOnlyList<(string Jti, DateTime ExpiresAt)>> RevokeAllForUserAsync(Guid userId, string reason, CancellationToken ct) =>
        RevokeAllForUserAsync(userId, reason, keepFamilyOfAccessJti: null, ct);

    /// <summary>Revokes every family of a user except the one that issued <paramref name="keepFamilyOfAccessJti"/> (the caller's own).</summary>
    public async Task<IReadOnlyList<(string Jti, DateTime ExpiresAt)>> RevokeAllForUserAsync(Guid userId, string reason, string? keepFamilyOfAccessJti,
        CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        var families = await conn.QueryAsync<Guid>(new CommandDefinition(UserFamiliesSql, new { UserId = userId, KeepAccessJti = keepFamilyOfAccessJti },
            cancellationToken: ct));
        var all = new List<(string, DateTime)>();
        foreach (var f in families) all.AddRange(await RevokeFamilyAsync(conn, f, reason, ct));
        return all;
    }

    private const string CountActiveFamiliesSql = "SELECT count(*) FROM refresh_token_families WHERE revoked_at IS NULL";
    public async Task<long> CountActiveFamiliesAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await conn.ExecuteScalarAsync<long>(new CommandDefinition(CountActiveFamiliesSql, cancellationToken: ct));
    }
}
