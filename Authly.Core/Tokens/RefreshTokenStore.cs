using Authly.Storage;
using System.Security.Cryptography;
using System.Text.Json;
using Authly.Configuration;
using Authly.OAuth;
using Authly.Security;
using Authly.Users;
using Dapper;
using Npgsql;

namespace Authly.Tokens;

/// <summary>
/// Opaque refresh tokens in families (one family per grant), stored only as SHA-256 hashes.
/// A refresh is one transaction (<see cref="RotateAsync"/> … <see cref="CommitAsync"/>); presenting
/// a token that was already rotated is reuse and revokes the whole family (OAuth 2.1 §4.3.1,
/// RFC 9700 §4.14.2), except a retry by the same client within the grace window, which gets the
/// answer the rotation gave. Revoking a family is complete when its one transaction commits: the
/// family is marked and every live access token issued from it is in <c>revoked_tokens</c>.
/// Expiry and the grace window are measured on the database clock, so nodes whose clocks differ agree.
/// </summary>
public sealed class RefreshTokenStore(NpgsqlDataSource db, RevocationList revocations, AuthlyOptions options)
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
        /// <summary>RFC 9449 §5: the thumbprint of the DPoP key the family is bound to (public clients), else null.</summary>
        public string? DpopJkt { get; init; }
        /// <summary>RFC 8707: the resources of the grant the family came from (empty: the default audience); a refresh may only narrow them.</summary>
        public string[] Resources { get; init; } = [];
        /// <summary>Not rotated, family not revoked, and unexpired by the database clock.</summary>
        public bool IsCurrent { get; init; }
    }

    public enum RotateStatus { Rotated, Retried, Unknown, Expired, Revoked, Reused, OtherClient }

    /// <summary>
    /// What presenting a refresh token led to. When <see cref="Status"/> is <c>Rotated</c> it holds the open
    /// transaction in which the token was marked used and its family row locked (FOR SHARE), and the user as that
    /// transaction read them; <see cref="CommitAsync"/> writes the successor and the retry answer and commits, all on
    /// the one connection the rotation opened. Disposed uncommitted, it rolls back and the presented token stays
    /// current. <c>Retried</c> carries the answer of the earlier rotation.
    /// </summary>
    public sealed class Rotation : IAsyncDisposable
    {
        private NpgsqlConnection? _conn;
        private NpgsqlTransaction? _tx;

        internal Rotation(RotateStatus status, Row? token, TokenResponse? retried = null)
        {
            (Status, Token, RetriedResponse) = (status, token, retried);
        }

        internal Rotation(Row token, User? user, NpgsqlConnection conn, NpgsqlTransaction tx, string presented, string? requestedScope, Guid successorId)
        {
            (Status, Token, User, _conn, _tx, Presented, RequestedScope, SuccessorId) =
                (RotateStatus.Rotated, token, user, conn, tx, presented, requestedScope, successorId);
        }

        public RotateStatus Status { get; }
        public Row? Token { get; }
        public TokenResponse? RetriedResponse { get; }
        /// <summary>The token's user as the rotation's transaction read them (null: the row is gone).</summary>
        public User? User { get; }
        internal NpgsqlConnection Connection => _conn ?? throw new InvalidOperationException("No rotation in progress.");
        internal NpgsqlTransaction Transaction => _tx ?? throw new InvalidOperationException("No rotation in progress.");
        internal string Presented { get; } = "";
        internal string? RequestedScope { get; }
        /// <summary>The id the successor row gets; the rotation's UPDATE already points <c>replaced_by</c> at it.</summary>
        internal Guid SuccessorId { get; }
        /// <summary>The successor, set by <see cref="IssueAsync(Rotation, string, DateTimeOffset, CancellationToken)"/> and written by <see cref="CommitAsync"/>.</summary>
        internal (string Token, string AccessJti, DateTimeOffset AccessExpires)? Successor { get; set; }

        /// <summary>Rolls the rotation back (the presented token is current again) and keeps the connection for the caller.</summary>
        internal async Task<NpgsqlConnection> RollBackAsync(CancellationToken ct)
        {
            await Transaction.RollbackAsync(ct);
            await _tx!.DisposeAsync();
            _tx = null;
            return Connection;
        }

        public async ValueTask DisposeAsync()
        {
            if (_tx is not null) await _tx.DisposeAsync();
            if (_conn is not null) await _conn.DisposeAsync();
            (_tx, _conn) = (null, null);
        }
    }

    // A new family is created only for the user as the grant saw them (still active, same password hash), and the user
    // row stays locked FOR SHARE until the family and its first token commit: a password change, reset or deactivation
    // (an UPDATE of that row, followed by the revocation of every family) either waits for this login and then revokes
    // what it issued, or comes first and this login fails. Before, a login whose password check passed just before a
    // reset created its family after the reset's revocation had run, and that family outlived the reset.
    // Ids are time-ordered (UUIDv7), chosen here: new rows go to the right edge of each primary key.
    private const string CreateFamilySql = """
        WITH family AS (
            INSERT INTO refresh_token_families (id, user_id, client_id, dpop_jkt, resources)
            SELECT @FamilyId, u.id, @ClientId, @DpopJkt, @Resources FROM users u WHERE u.id = @UserId AND u.is_active AND u.password_hash = @PasswordHash
            FOR SHARE
            RETURNING id
        )
        INSERT INTO refresh_tokens (id, family_id, token_hash, user_id, client_id, scope, expires_at, access_jti, access_expires_at)
        SELECT @TokenId, id, @Hash, @UserId, @ClientId, @Scope, now() + @Lifetime, @AccessJti, @AccessExpiresAt FROM family
        RETURNING family_id
        """;

    /// <summary>
    /// Issues the first refresh token of a new family for <paramref name="user"/> as the grant read it; returns the token and
    /// its family. The family and its first token commit together, and only while the user is still active with the
    /// password the grant checked.
    /// </summary>
    /// <exception cref="OAuthException">invalid_grant: the user was deactivated or their password changed meanwhile</exception>
    public async Task<(string Token, Guid FamilyId)> IssueAsync(User user, string? clientId, string scope,
        string accessJti, DateTimeOffset accessExpires, string? dpopJkt, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await IssueAsync(conn, null, user, clientId, scope, accessJti, accessExpires, dpopJkt, ct);
    }

    /// <summary>
    /// The same in the caller's transaction (a code redemption's), which then commits it: one statement, one round trip.
    /// Until that commit the user row stays locked FOR SHARE, as above.
    /// </summary>
    /// <param name="resources">RFC 8707: the grant's resources, kept with the family (a refresh may narrow to them)</param>
    public Task<(string Token, Guid FamilyId)> IssueAsync(NpgsqlTransaction tx, User user, string? clientId, string scope,
        string accessJti, DateTimeOffset accessExpires, string? dpopJkt, CancellationToken ct, IReadOnlyList<string>? resources = null) =>
        IssueAsync(tx.Connection!, tx, user, clientId, scope, accessJti, accessExpires, dpopJkt, ct, resources);

    // Without a transaction the statement is its own: family and token commit together or not at all.
    private async Task<(string Token, Guid FamilyId)> IssueAsync(NpgsqlConnection conn, NpgsqlTransaction? tx, User user, string? clientId,
        string scope, string accessJti, DateTimeOffset accessExpires, string? dpopJkt, CancellationToken ct, IReadOnlyList<string>? resources = null)
    {
        var token = OpaqueToken.New(32);
        var family = await conn.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition(CreateFamilySql, new
            {
                FamilyId = Guid.CreateVersion7(), TokenId = Guid.CreateVersion7(),
                UserId = user.Id, ClientId = clientId, user.PasswordHash, Hash = OpaqueToken.Hash(token), Scope = scope,
                Lifetime = options.RefreshTokenLifetime, AccessJti = accessJti, AccessExpiresAt = accessExpires.UtcDateTime, DpopJkt = dpopJkt,
                Resources = resources?.ToArray() ?? [],
            }, tx, cancellationToken: ct))
            ?? throw OAuthException.InvalidGrant("The user's credentials changed; sign in again", "user deactivated or password changed while signing in");
        return (token, family);
    }

    /// <summary>
    /// The successor of a rotated token: same family, user, client and scope. Nothing is written yet:
    /// <see cref="CommitAsync"/> inserts it in the rotation's transaction, in the statement that records the answer.
    /// </summary>
    public Task<string> IssueAsync(Rotation rotation, string accessJti, DateTimeOffset accessExpires, CancellationToken ct)
    {
        if (rotation.Successor is not null) throw new InvalidOperationException("The rotation already has a successor.");
        var token = OpaqueToken.New(32);
        rotation.Successor = (token, accessJti, accessExpires);
        return Task.FromResult(token);
    }

    private const string Columns = """
        t.id, t.family_id, t.user_id, t.client_id, t.scope, t.issued_at, t.expires_at, t.rotated_at,
        f.revoked_at AS family_revoked_at, u.username, f.dpop_jkt, f.resources,
        (t.rotated_at IS NULL AND f.revoked_at IS NULL AND t.expires_at > now()) AS is_current
        """;

    // Shared with family revocation's FOR UPDATE: a revocation either commits first (seen here, the refresh
    // fails) or waits for this refresh to commit and then finds the access token it issued.
    private const string LockFamilySql = """
        SELECT f.revoked_at IS NOT NULL FROM refresh_token_families f
        WHERE f.id = (SELECT family_id FROM refresh_tokens WHERE token_hash = @Hash)
        FOR SHARE
        """;

    // One statement marks the token used, and only if nobody else has and the presenting client is the one it was
    // issued to (RFC 6749 §6; another client's token is neither burnt nor revoked): of concurrent uses one wins; the
    // others wait for its transaction and then find the token rotated (a retry, or reuse). It is the only write to the
    // row in its life: it points replaced_by at the successor (whose id is chosen here, the row is inserted at commit)
    // and drops the answer the row held for a retry of the rotation that issued it (only a family's latest rotation
    // may be retried, and that is this one now). No column it sets is indexed, so the update stays on the page (HOT).
    private const string RotateSql = $"""
        UPDATE refresh_tokens t SET rotated_at = now(), replaced_by = @SuccessorId, retry_response = NULL
        FROM refresh_token_families f, users u
        WHERE t.token_hash = @Hash AND f.id = t.family_id AND u.id = t.user_id
          AND t.client_id IS NOT DISTINCT FROM @ClientId::text
          AND t.rotated_at IS NULL AND f.revoked_at IS NULL AND t.expires_at > now()
        RETURNING {Columns}
        """;
    private const string FindSql = $"""
        SELECT {Columns} FROM refresh_tokens t
        JOIN refresh_token_families f ON f.id = t.family_id JOIN users u ON u.id = t.user_id
        WHERE t.token_hash = @Hash
        """;

    // A rotation's first round trip: the family lock, the rotation and the user, as separate statements of one batch, so
    // each takes its own snapshot (READ COMMITTED) after the one before it has waited for whatever it had to wait for.
    private static readonly string RotateBatchSql =
        $"{LockFamilySql};\n{RotateSql};\n{UserStore.SelectByIdSql("SELECT user_id FROM refresh_tokens WHERE token_hash = @Hash")}";

    private sealed record RetryState
    {
        public byte[]? RetryResponse { get; init; }
        public bool? WithinGrace { get; init; }
        public bool SuccessorCurrent { get; init; }
    }

    // Only the latest rotation of a family may be retried (its successor is still unused), within the window. The answer
    // of a rotation is stored on the row it issued (sql/0010), so one read of the successor gives both.
    private const string RetryStateSql = """
        SELECT s.retry_response, t.rotated_at > now() - @Grace AS within_grace,
               (s.id IS NOT NULL AND s.rotated_at IS NULL) AS successor_current
        FROM refresh_tokens t LEFT JOIN refresh_tokens s ON s.id = t.replaced_by
        WHERE t.token_hash = @Hash
        """;
    // When the token did not rotate: what it is now. A statement of its own, so that it sees a concurrent winner's
    // commit that the rotation waited for.
    private const string StateBatchSql = $"{FindSql};\n{RetryStateSql}";

    /// <summary>
    /// Presents <paramref name="token"/> for a refresh by <paramref name="clientId"/> (null: the first-party CLI).
    /// <paramref name="requestedScope"/> is the request's scope parameter: a retry must repeat it to get the earlier answer.
    /// One connection and one transaction whatever the outcome: a rotation costs one round trip here (BEGIN, the family
    /// lock, the rotation and the user read are one batch) and two in <see cref="CommitAsync"/>; a token that did not
    /// rotate costs one more round trip to learn why, and reuse revokes its family on the same connection.
    /// </summary>
    public async Task<Rotation> RotateAsync(string token, string? clientId, string? requestedScope, CancellationToken ct)
    {
        if (token.Length > 512) return new Rotation(RotateStatus.Unknown, null);
        var hash = OpaqueToken.Hash(token);
        NpgsqlConnection? conn = await db.OpenAsync(ct);
        NpgsqlTransaction? tx = null;
        try
        {
            tx = await conn.BeginTransactionAsync(ct);
            Row? rotated;
            User? user;
            // Time-ordered (UUIDv7): successive rows land at the right edge of the primary key, not on a random leaf page.
            var successorId = Guid.CreateVersion7();
            await using (var batch = await conn.QueryMultipleAsync(new CommandDefinition(RotateBatchSql,
                new { Hash = hash, ClientId = clientId, SuccessorId = successorId }, tx, cancellationToken: ct)))
            {
                _ = await batch.ReadSingleOrDefaultAsync<bool?>();
                rotated = await batch.ReadSingleOrDefaultAsync<Row>();
                user = await batch.ReadSingleOrDefaultAsync<User>();
            }
            if (rotated is not null)
            {
                var rotation = new Rotation(rotated, user, conn, tx, token, requestedScope, successorId);
                (conn, tx) = (null, null); // owned by the rotation now
                return rotation;
            }

            Row? existing;
            RetryState? retry;
            await using (var state = await conn.QueryMultipleAsync(new CommandDefinition(StateBatchSql,
                new { Hash = hash, Grace = options.RefreshRetryGrace }, tx, cancellationToken: ct)))
            {
                existing = await state.ReadSingleOrDefaultAsync<Row>();
                retry = await state.ReadSingleOrDefaultAsync<RetryState>();
            }
            await tx.RollbackAsync(ct);
            await tx.DisposeAsync();
            tx = null;

            if (existing is null) return new Rotation(RotateStatus.Unknown, null);
            if (existing.ClientId != clientId) return new Rotation(RotateStatus.OtherClient, existing);
            if (existing.FamilyRevokedAt is not null) return new Rotation(RotateStatus.Revoked, existing);
            if (existing.RotatedAt is null) return new Rotation(RotateStatus.Expired, existing);
            // A retry after a lost answer: the same client repeating the same request on the family's latest rotation,
            // within the window. Anything else presenting a rotated token is reuse, as without the window.
            if (options.RefreshRetryGraceSeconds > 0
                && retry is { WithinGrace: true, SuccessorCurrent: true, RetryResponse: { } sealedAnswer }
                && OpenRetryAnswer(token, existing.Id, requestedScope, sealedAnswer) is { } answer)
                return new Rotation(RotateStatus.Retried, existing, answer);
            await RevokeFamiliesAsync(conn, LockFamilySqlForRevoke, new { existing.FamilyId }, "refresh token reuse detected", ct);
            return new Rotation(RotateStatus.Reused, existing);
        }
        finally
        {
            if (tx is not null) await tx.DisposeAsync();
            if (conn is not null) await conn.DisposeAsync();
        }
    }

    /// <summary>
    /// Abandons a rotation (rolled back: nothing it did stays) and revokes the token's family, on the rotation's connection:
    /// for a token whose user is gone or deactivated.
    /// </summary>
    public async Task RevokeFamilyAsync(Rotation rotation, string reason, CancellationToken ct)
    {
        var conn = await rotation.RollBackAsync(ct); // releases the family row, which the revocation locks
        await RevokeFamiliesAsync(conn, LockFamilySqlForRevoke, new { rotation.Token!.FamilyId }, reason, ct);
    }

    // The successor, with the answer of this rotation (for a retry of it) on it: the family's one stored answer, since the
    // rotation dropped the one the rotated row held. One INSERT; the rotated row is not written again.
    private const string CommitSql = """
        INSERT INTO refresh_tokens (id, family_id, token_hash, user_id, client_id, scope, expires_at, access_jti, access_expires_at, retry_response)
        VALUES (@SuccessorId, @FamilyId, @NewHash, @UserId, @ClientId, @Scope, now() + @Lifetime, @AccessJti, @AccessExpiresAt, @Answer)
        """;

    /// <summary>
    /// Writes the successor with the answer of the rotation (sealed, for a retry within the window) in one statement and
    /// commits the whole refresh: two round trips.
    /// </summary>
    public async Task CommitAsync(Rotation rotation, TokenResponse response, CancellationToken ct)
    {
        var row = rotation.Token!;
        var (successor, accessJti, accessExpires) = rotation.Successor ?? throw new InvalidOperationException("The rotation has no successor.");
        var tx = rotation.Transaction;
        var answer = options.RefreshRetryGraceSeconds > 0 ? SealRetryAnswer(rotation.Presented, row.Id, rotation.RequestedScope, response) : null;
        await rotation.Connection.ExecuteAsync(new CommandDefinition(CommitSql, new
        {
            rotation.SuccessorId, row.FamilyId, NewHash = OpaqueToken.Hash(successor), row.UserId, row.ClientId, row.Scope,
            Lifetime = options.RefreshTokenLifetime, AccessJti = accessJti, AccessExpiresAt = accessExpires.UtcDateTime, Answer = answer,
        }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
    }

    // The answer holds live tokens, so it is sealed under a key only this server, for the holder of the rotated token,
    // can derive: HKDF of JWT_REFRESH_SECRET_KEY and the token (which the database keeps only as a SHA-256 hash). The
    // token alone is not enough: a rotated token is meant to be dead, and may sit in a client's old storage or logs,
    // so with it a copy of the database (a backup, a replica) must still not open the successor it holds. The row id
    // and the requested scope are bound as associated data: the answer opens for a repeat of the same request on the
    // same token only.
    private const string RetryPurpose = "authly-refresh-retry-v1";

    // Tokens are base64url, so the separator makes the secret/token split unambiguous.
    private SecretBox RetryBox(string presented) => new(options.JwtRefreshSecretKey + "\n" + presented, RetryPurpose);

    private byte[] SealRetryAnswer(string presented, Guid rowId, string? requestedScope, TokenResponse response) =>
        RetryBox(presented).Seal(JsonSerializer.SerializeToUtf8Bytes(response), RetryAssociatedData(rowId, requestedScope));

    private TokenResponse? OpenRetryAnswer(string presented, Guid rowId, string? requestedScope, byte[] sealedAnswer)
    {
        try
        {
            var plain = RetryBox(presented).Open(sealedAnswer, RetryAssociatedData(rowId, requestedScope));
            return JsonSerializer.Deserialize<TokenResponse>(plain);
        }
        catch (CryptographicException) { return null; }
    }

    private static string RetryAssociatedData(Guid rowId, string? requestedScope) => $"{rowId:N}|{requestedScope?.Trim() ?? ""}";

    /// <summary>A refresh token that is current: not rotated, not expired (database clock), family not revoked.</summary>
    public async Task<Row?> FindActiveAsync(string token, CancellationToken ct) =>
        await FindAsync(token, ct) is { IsCurrent: true } row ? row : null;

    public async Task<Row?> FindAsync(string token, CancellationToken ct)
    {
        if (token.Length > 512) return null;
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(FindSql, new { Hash = OpaqueToken.Hash(token) }, cancellationToken: ct));
    }

    private const string LockFamilySqlForRevoke = "SELECT id FROM refresh_token_families WHERE id = @FamilyId FOR UPDATE";

    /// <summary>
    /// Revokes a family and every live access token issued from it, in one transaction; then tells this node's
    /// <see cref="RevocationList"/> and the others. Idempotent: a family revoked before (perhaps by an interrupted
    /// call) still gets all its access tokens recorded. Throws if the database does not commit: the caller may then
    /// report no success.
    /// </summary>
    public Task RevokeFamilyAsync(Guid familyId, string reason, CancellationToken ct) =>
        RevokeFamiliesAsync(LockFamilySqlForRevoke, new { FamilyId = familyId }, reason, ct);

    // Families whose access tokens may still be live: unrevoked, or revoked within the longest access-token
    // lifetime (ACCESS_TOKEN_EXPIRE_MINUTES is at most one day). Locked in id order so concurrent calls cannot deadlock.
    private const string LockUserFamiliesSql = """
        SELECT id FROM refresh_token_families f
        WHERE user_id = @UserId AND (revoked_at IS NULL OR revoked_at > now() - interval '1 day')
          AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.id AND t.access_jti = @KeepAccessJti)
        ORDER BY id
        FOR UPDATE
        """;

    /// <summary>Revokes every family of a user (deactivation, password reset, logout everywhere), as <see cref="RevokeFamilyAsync"/> does one.</summary>
    public Task RevokeAllForUserAsync(Guid userId, string reason, CancellationToken ct) =>
        RevokeAllForUserAsync(userId, reason, keepFamilyOfAccessJti: null, ct);

    /// <summary>Revokes every family of a user except the one that issued <paramref name="keepFamilyOfAccessJti"/> (the caller's own).</summary>
    public Task RevokeAllForUserAsync(Guid userId, string reason, string? keepFamilyOfAccessJti, CancellationToken ct) =>
        RevokeFamiliesAsync(LockUserFamiliesSql, new { UserId = userId, KeepAccessJti = keepFamilyOfAccessJti }, reason, ct);

    private const string MarkRevokedSql = """
        UPDATE refresh_token_families SET revoked_at = coalesce(revoked_at, now()), revoked_reason = coalesce(revoked_reason, @Reason)
        WHERE id = ANY(@Ids)
        """;
    // The access tokens are found by the same transaction that holds the family rows: a refresh that committed
    // before the lock was granted has its row here, and none can commit after.
    private const string RevokeAccessTokensSql = """
        WITH live AS (
            SELECT access_jti, access_expires_at FROM refresh_tokens WHERE family_id = ANY(@Ids) AND access_expires_at > now()
        ), recorded AS (
            INSERT INTO revoked_tokens (jti, expires_at) SELECT access_jti, access_expires_at FROM live ON CONFLICT (jti) DO NOTHING
        )
        SELECT access_jti, access_expires_at FROM live
        """;
    private const string ForgetAnswersSql = "UPDATE refresh_tokens SET retry_response = NULL WHERE family_id = ANY(@Ids) AND retry_response IS NOT NULL";

    private async Task RevokeFamiliesAsync(string lockFamiliesSql, object args, string reason, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        await RevokeFamiliesAsync(conn, lockFamiliesSql, args, reason, ct);
    }

    /// <summary>The revocation on an open connection with no transaction in progress (a rotation's, once rolled back).</summary>
    private async Task RevokeFamiliesAsync(NpgsqlConnection conn, string lockFamiliesSql, object args, string reason, CancellationToken ct)
    {
        List<(string Jti, DateTime ExpiresAt)> revoked;
        await using (var tx = await conn.BeginTransactionAsync(ct))
        {
            var ids = (await conn.QueryAsync<Guid>(new CommandDefinition(lockFamiliesSql, args, tx, cancellationToken: ct))).ToArray();
            if (ids.Length == 0) return;
            await conn.ExecuteAsync(new CommandDefinition(MarkRevokedSql, new { Ids = ids, Reason = reason }, tx, cancellationToken: ct));
            revoked = (await conn.QueryAsync<(string, DateTime)>(new CommandDefinition(RevokeAccessTokensSql, new { Ids = ids }, tx, cancellationToken: ct))).AsList();
            await conn.ExecuteAsync(new CommandDefinition(ForgetAnswersSql, new { Ids = ids }, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
        }
        await revocations.AnnounceAsync(revoked);
    }

    private const string CountActiveFamiliesSql = "SELECT count(*) FROM refresh_token_families WHERE revoked_at IS NULL";
    public async Task<long> CountActiveFamiliesAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<long>(new CommandDefinition(CountActiveFamiliesSql, cancellationToken: ct));
    }
}
