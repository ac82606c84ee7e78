using System.Text.Json.Serialization;
using Authly.Security;
using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Clients;

/// <summary>
/// RFC 7591 §3 initial access tokens: made by an admin, given to whoever may register clients when
/// AUTHLY_REGISTRATION=token. Stored as SHA-256 only (a lookup by hash reveals nothing of the token by its timing);
/// each may have an expiry and a number of uses, and is revoked by an admin.
/// </summary>
public sealed class InitialAccessTokenStore(NpgsqlDataSource db, TimeProvider clock)
{
    /// <summary>What the admin API shows of a token (never the token, which is shown once, on creation).</summary>
    public sealed record Info
    {
        [JsonPropertyName("id")] public Guid Id { get; init; }
        [JsonPropertyName("description")] public string Description { get; init; } = "";
        [JsonPropertyName("expires_at")] public DateTime? ExpiresAt { get; init; }
        [JsonPropertyName("uses_left")] public int? UsesLeft { get; init; }
        [JsonPropertyName("use_count")] public int UseCount { get; init; }
        [JsonPropertyName("created_at")] public DateTime CreatedAt { get; init; }
        [JsonPropertyName("revoked_at")] public DateTime? RevokedAt { get; init; }
    }

    public const int MaxDescriptionLength = 255;
    public const int MaxUses = 1_000_000;
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(366);

    private const string InsertSql = """
        INSERT INTO initial_access_tokens (token_hash, description, expires_at, uses_left)
        VALUES (@Hash, @Description, @ExpiresAt, @UsesLeft)
        RETURNING id, description, expires_at, uses_left, use_count, created_at, revoked_at
        """;

    /// <summary>A new token; the string is returned here and never again.</summary>
    /// <exception cref="AuthlyException">a field is out of range</exception>
    public async Task<(Info Info, string Token)> CreateAsync(string? description, int? expiresInSeconds, int? maxUses, CancellationToken ct)
    {
        if (description is { Length: > MaxDescriptionLength })
            throw AuthlyException.Validation($"description is longer than {MaxDescriptionLength} characters", "description");
        if (expiresInSeconds is { } e && (e < 1 || e > MaxLifetime.TotalSeconds))
            throw AuthlyException.Validation($"expires_in must be between 1 and {(int)MaxLifetime.TotalSeconds} seconds", "expires_in");
        if (maxUses is < 1 or > MaxUses)
            throw AuthlyException.Validation($"max_uses must be between 1 and {MaxUses}", "max_uses");
        var token = OpaqueToken.New(32);
        DateTime? expiresAt = expiresInSeconds is { } s ? clock.GetUtcNow().AddSeconds(s).UtcDateTime : null;
        await using var conn = await db.OpenAsync(ct);
        var info = await conn.QuerySingleAsync<Info>(new CommandDefinition(InsertSql,
            new { Hash = OpaqueToken.Hash(token), Description = description?.Trim() ?? "", ExpiresAt = expiresAt, UsesLeft = maxUses },
            cancellationToken: ct));
        return (info, token);
    }

    private const string ListSql = """
        SELECT id, description, expires_at, uses_left, use_count, created_at, revoked_at FROM initial_access_tokens
        ORDER BY created_at, id LIMIT @Limit OFFSET @Offset
        """;
    public async Task<IReadOnlyList<Info>> ListAsync(int limit, int offset, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await conn.QueryAsync<Info>(new CommandDefinition(ListSql, new { Limit = limit, Offset = offset }, cancellationToken: ct))).AsList();
    }

    private const string RevokeSql = "UPDATE initial_access_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = @Id";
    /// <summary>False when there is no such token. Revoking twice is fine.</summary>
    public async Task<bool> RevokeAsync(Guid id, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(RevokeSql, new { Id = id }, cancellationToken: ct)) > 0;
    }

    private const string UsableCondition = """
        token_hash = @Hash AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @Now) AND (uses_left IS NULL OR uses_left > 0)
        """;

    private const string IsUsableSql = $"SELECT EXISTS (SELECT 1 FROM initial_access_tokens WHERE {UsableCondition})";

    /// <summary>Whether the token would be accepted now (checked before the metadata, so a bad token learns nothing of it).</summary>
    public async Task<bool> IsUsableAsync(string token, CancellationToken ct)
    {
        if (token.Length > 512) return false;
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<bool>(new CommandDefinition(IsUsableSql,
            new { Hash = OpaqueToken.Hash(token), Now = clock.GetUtcNow().UtcDateTime }, cancellationToken: ct));
    }

    private const string UseSql = $"""
        UPDATE initial_access_tokens SET use_count = use_count + 1, uses_left = uses_left - 1
        WHERE {UsableCondition}
        RETURNING id
        """;

    /// <summary>
    /// Takes one use in the registration's transaction, in one statement (a token with one use left registers one
    /// client, however many requests race for it); null when the token is unknown, revoked, expired or used up.
    /// </summary>
    public async Task<Guid?> UseAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string token, CancellationToken ct) =>
        token.Length > 512 ? null
        : await conn.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition(UseSql,
            new { Hash = OpaqueToken.Hash(token), Now = clock.GetUtcNow().UtcDateTime }, tx, cancellationToken: ct));
}
