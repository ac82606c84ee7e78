using Authly.Storage;
using Authly.Security;
using Dapper;
using Npgsql;

namespace Authly.Authorization;

/// <summary>
/// Authorization codes: random, stored as SHA-256 hashes, valid for five minutes (RFC 6749
/// §4.1.2 recommends at most ten), consumed by one atomic UPDATE. A code consumed twice is a
/// replay: the second consumer learns what the first use issued, so it can be revoked. The
/// expiry is set and checked on the database clock, so a code minted on a node whose clock runs
/// ahead lives its full five minutes on every node (issue 12 finding 7).
/// </summary>
public sealed class AuthorizationCodeStore(NpgsqlDataSource db)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    public sealed record Code
    {
        public string ClientId { get; init; } = "";
        public Guid UserId { get; init; }
        public string RedirectUri { get; init; } = "";
        public string Scope { get; init; } = "";
        public string CodeChallenge { get; init; } = "";
        public string? Nonce { get; init; }
        public DateTime AuthTime { get; init; }
        public string? SessionId { get; init; }
        public DateTime ExpiresAt { get; init; }
        public DateTime? ConsumedAt { get; init; }
        /// <summary>expires_at &lt;= now() on the database clock when the row was read.</summary>
        public bool Expired { get; init; }
        public Guid? FamilyId { get; init; }
        public string? AccessJti { get; init; }
        public DateTime? AccessExpiresAt { get; init; }
    }

    private const string InsertSql = """
        INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, scope, code_challenge, nonce, auth_time, session_id, expires_at)
        VALUES (@Hash, @ClientId, @UserId, @RedirectUri, @Scope, @Challenge, @Nonce, @AuthTime, @SessionId, now() + @Lifetime)
        """;

    public async Task<string> CreateAsync(AuthorizeRequest request, Guid userId, DateTime authTime, string? sessionId, CancellationToken ct)
    {
        var code = OpaqueToken.New(32);
        await using var conn = await db.OpenAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(InsertSql, new
        {
            Hash = OpaqueToken.Hash(code), ClientId = request.Client.ClientId, UserId = userId, RedirectUri = request.RedirectUri,
            Scope = Scopes.ScopeSet.Join(request.Scopes), Challenge = request.CodeChallenge, request.Nonce,
            AuthTime = authTime, SessionId = sessionId,
            Lifetime,
        }, cancellationToken: ct));
        return code;
    }

    private const string Columns = "client_id, user_id, redirect_uri, scope, code_challenge, nonce, auth_time, session_id, expires_at, consumed_at, family_id, access_jti, access_expires_at, expires_at <= now() AS expired";
    private const string ConsumeSql = $"UPDATE authorization_codes SET consumed_at = now() WHERE code_hash = @Hash AND client_id = @ClientId AND consumed_at IS NULL RETURNING {Columns}";
    private const string FindSql = $"SELECT {Columns} FROM authorization_codes WHERE code_hash = @Hash";

    /// <summary>
    /// (the code, whether this call consumed it). Only the client the code was issued to consumes
    /// it; a code already consumed, or presented by another client, comes back with Consumed=false.
    /// </summary>
    public async Task<(Code? Code, bool Consumed)> ConsumeAsync(string code, string clientId, CancellationToken ct)
    {
        if (code.Length > 256) return (null, false);
        var hash = OpaqueToken.Hash(code);
        await using var conn = await db.OpenAsync(ct);
        var row = await conn.QuerySingleOrDefaultAsync<Code>(new CommandDefinition(ConsumeSql, new { Hash = hash, ClientId = clientId }, cancellationToken: ct));
        if (row is not null) return (row, true);
        return (await conn.QuerySingleOrDefaultAsync<Code>(new CommandDefinition(FindSql, new { Hash = hash }, cancellationToken: ct)), false);
    }

    private const string MarkReplayedSql = $"UPDATE authorization_codes SET replayed_at = coalesce(replayed_at, now()) WHERE code_hash = @Hash RETURNING {Columns}";

    /// <summary>
    /// Marks a code as replayed (RFC 6749 §4.1.2) and returns what it has produced so far. The row lock
    /// orders this against <see cref="RecordIssuedAsync"/>: either the replay sees what the first
    /// redemption issued, or that redemption sees the replay.
    /// </summary>
    public async Task<Code?> MarkReplayedAsync(string code, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Code>(new CommandDefinition(MarkReplayedSql, new { Hash = OpaqueToken.Hash(code) }, cancellationToken: ct));
    }

    private const string RecordIssueSql = """
        UPDATE authorization_codes SET family_id = @FamilyId, access_jti = @Jti, access_expires_at = @Expires WHERE code_hash = @Hash
        RETURNING replayed_at IS NOT NULL
        """;
    /// <summary>
    /// Remembers what a code produced, so a replay can revoke it. True when a replay was marked while this
    /// redemption was issuing: the caller must then revoke what it issued, as the replay could not.
    /// </summary>
    public async Task<bool> RecordIssuedAsync(string code, Guid? familyId, string accessJti, DateTimeOffset accessExpires, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<bool>(new CommandDefinition(RecordIssueSql, new
        {
            Hash = OpaqueToken.Hash(code), FamilyId = familyId, Jti = accessJti, Expires = accessExpires.UtcDateTime,
        }, cancellationToken: ct));
    }
}
