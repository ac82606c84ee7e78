using Authly.Storage;
using Authly.Security;
using Authly.Users;
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
        /// <summary>The session's RFC 8176 methods and acr when the code was issued (null for codes from before issue 16).</summary>
        public string[]? Amr { get; init; }
        public string? Acr { get; init; }
        public DateTime ExpiresAt { get; init; }
        public DateTime? ConsumedAt { get; init; }
        /// <summary>expires_at &lt;= now() on the database clock when the row was read.</summary>
        public bool Expired { get; init; }
        public Guid? FamilyId { get; init; }
        public string? AccessJti { get; init; }
        public DateTime? AccessExpiresAt { get; init; }
        /// <summary>RFC 8707: the resources asked for at /authorize (empty: the default audience).</summary>
        public string[] Resources { get; init; } = [];
    }

    private const string InsertSql = """
        INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, scope, code_challenge, nonce, auth_time, session_id, amr, acr, expires_at, resources)
        VALUES (@Hash, @ClientId, @UserId, @RedirectUri, @Scope, @Challenge, @Nonce, @AuthTime, @SessionId, @Amr, @Acr, now() + @Lifetime, @Resources)
        """;

    public Task<string> CreateAsync(AuthorizeRequest request, Guid userId, DateTime authTime, string? sessionId, CancellationToken ct) =>
        CreateAsync(request, userId, authTime, sessionId, Mfa.AuthenticationMethods.AfterPassword, Lifetime, ct);

    /// <param name="amr">How the user signed in (RFC 8176); the code's acr follows from it.</param>
    /// <param name="lifetime">At most <see cref="Lifetime"/>; shorter under the FAPI 2.0 profile (<see cref="Clients.Fapi2Profile.CodeLifetime"/>).</param>
    public async Task<string> CreateAsync(AuthorizeRequest request, Guid userId, DateTime authTime, string? sessionId, IReadOnlyList<string> amr,
        TimeSpan lifetime, CancellationToken ct)
    {
        var code = OpaqueToken.New(32);
        await using var conn = await db.OpenAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(InsertSql, new
        {
            Hash = OpaqueToken.Hash(code), ClientId = request.Client.ClientId, UserId = userId, RedirectUri = request.RedirectUri,
            Scope = Scopes.ScopeSet.Join(request.Scopes), Challenge = request.CodeChallenge, request.Nonce,
            AuthTime = authTime, SessionId = sessionId,
            Amr = amr.ToArray(), Acr = Mfa.AuthenticationMethods.AcrOf(amr.ToList()),
            Lifetime = lifetime < Lifetime ? lifetime : Lifetime,
            Resources = request.Resources.ToArray(),
        }, cancellationToken: ct));
        return code;
    }

    private const string Columns = "client_id, user_id, redirect_uri, scope, code_challenge, nonce, auth_time, session_id, amr, acr, expires_at, consumed_at, family_id, access_jti, access_expires_at, expires_at <= now() AS expired, resources";
    private const string ConsumeSql = "UPDATE authorization_codes SET consumed_at = now() WHERE code_hash = @Hash AND client_id = @ClientId AND consumed_at IS NULL RETURNING true";
    private const string FindSql = $"SELECT {Columns} FROM authorization_codes WHERE code_hash = @Hash";

    // A redemption's first round trip: the consumption, the code and its user, as separate statements of one batch, so
    // each takes its own snapshot (READ COMMITTED). A concurrent redemption's UPDATE waits for the first one's row lock
    // until that one commits, so its own read of the code then sees what the first recorded (consumed, and what it issued).
    private static readonly string RedeemBatchSql =
        $"{ConsumeSql};\n{FindSql};\n{UserStore.SelectByIdSql("SELECT user_id FROM authorization_codes WHERE code_hash = @Hash")}";

    /// <summary>
    /// A code presented for redemption. When <see cref="Consumed"/>, it holds the open transaction in which this call
    /// consumed it (the row stays locked until it ends) and the user as that transaction read them; the tokens issued
    /// from it join the transaction, and <see cref="CompleteAsync"/> records them and commits. Disposed uncommitted,
    /// it rolls back: the code is unused again and nothing issued from it was stored (nor answered).
    /// </summary>
    public sealed class Redemption : IAsyncDisposable
    {
        private NpgsqlConnection? _conn;
        private NpgsqlTransaction? _tx;

        internal Redemption(string presented, Code? code, bool consumed, User? user, NpgsqlConnection? conn, NpgsqlTransaction? tx)
        {
            (Presented, Code, Consumed, User, _conn, _tx) = (presented, code, consumed, user, conn, tx);
        }

        internal string Presented { get; }
        /// <summary>The code as this redemption's transaction sees it; null when unknown.</summary>
        public Code? Code { get; }
        /// <summary>Whether this call consumed the code: false when it was used before, or belongs to another client.</summary>
        public bool Consumed { get; }
        /// <summary>The code's user as the transaction read them (null: unknown code or user gone).</summary>
        public User? User { get; }
        /// <summary>The redemption's transaction, for what is issued from the code.</summary>
        public NpgsqlTransaction Transaction => _tx ?? throw new InvalidOperationException("The redemption has ended.");

        /// <summary>Ends the transaction: commits (the consumption stays) or rolls back.</summary>
        internal async Task EndAsync(bool commit, CancellationToken ct)
        {
            if (commit) await Transaction.CommitAsync(ct);
            else await Transaction.RollbackAsync(ct);
            await _tx!.DisposeAsync();
            _tx = null;
        }

        internal NpgsqlConnection Connection => _conn ?? throw new InvalidOperationException("The redemption has ended.");

        public async ValueTask DisposeAsync()
        {
            if (_tx is not null) await _tx.DisposeAsync();
            if (_conn is not null) await _conn.DisposeAsync();
            (_tx, _conn) = (null, null);
        }
    }

    /// <summary>
    /// Presents <paramref name="code"/> for redemption by <paramref name="clientId"/>: one connection and one transaction,
    /// opened here with one round trip (BEGIN, the consumption, the code and its user as one batch). Only the client the
    /// code was issued to consumes it; a code already consumed, or presented by another client, comes back with
    /// Consumed=false.
    /// </summary>
    public async Task<Redemption> RedeemAsync(string code, string clientId, CancellationToken ct)
    {
        if (code.Length > 256) return new Redemption(code, null, false, null, null, null);
        var hash = OpaqueToken.Hash(code);
        var conn = await db.OpenAsync(ct);
        NpgsqlTransaction? tx = null;
        try
        {
            tx = await conn.BeginTransactionAsync(ct);
            await using var batch = await conn.QueryMultipleAsync(new CommandDefinition(RedeemBatchSql, new { Hash = hash, ClientId = clientId }, tx, cancellationToken: ct));
            var consumed = await batch.ReadSingleOrDefaultAsync<bool?>() == true;
            var row = await batch.ReadSingleOrDefaultAsync<Code>();
            var user = await batch.ReadSingleOrDefaultAsync<User>();
            return new Redemption(code, row, consumed, user, conn, tx);
        }
        catch
        {
            if (tx is not null) await tx.DisposeAsync();
            await conn.DisposeAsync();
            throw;
        }
    }

    /// <summary>Commits a consumed code that issues nothing (a refused redemption burns the code, as a used one).</summary>
    public Task BurnAsync(Redemption redemption, CancellationToken ct) => redemption.EndAsync(commit: true, ct);

    private const string MarkReplayedSql = $"UPDATE authorization_codes SET replayed_at = coalesce(replayed_at, now()) WHERE code_hash = @Hash RETURNING {Columns}";

    /// <summary>
    /// Marks a code as replayed (RFC 6749 §4.1.2) and returns what it has produced so far, on the redemption's connection
    /// after its transaction is rolled back (it consumed nothing). The row lock orders this against a first redemption's
    /// <see cref="CompleteAsync"/>: either the replay sees what that redemption issued, or that redemption sees the replay.
    /// </summary>
    public async Task<Code?> MarkReplayedAsync(Redemption redemption, CancellationToken ct)
    {
        await redemption.EndAsync(commit: false, ct);
        return await redemption.Connection.QuerySingleOrDefaultAsync<Code>(new CommandDefinition(MarkReplayedSql,
            new { Hash = OpaqueToken.Hash(redemption.Presented) }, cancellationToken: ct));
    }

    private const string RecordIssueSql = """
        UPDATE authorization_codes SET family_id = @FamilyId, access_jti = @Jti, access_expires_at = @Expires WHERE code_hash = @Hash
        RETURNING replayed_at IS NOT NULL
        """;
    /// <summary>
    /// Remembers what a code produced, so a replay can revoke it, and commits the redemption. True when a replay was
    /// marked before (a redemption's consumption and a replay's mark touch the row in either order): the caller must
    /// then revoke what it issued, as the replay could not.
    /// </summary>
    public async Task<bool> CompleteAsync(Redemption redemption, Guid? familyId, string accessJti, DateTimeOffset accessExpires, CancellationToken ct)
    {
        var replayed = await redemption.Connection.ExecuteScalarAsync<bool>(new CommandDefinition(RecordIssueSql, new
        {
            Hash = OpaqueToken.Hash(redemption.Presented), FamilyId = familyId, Jti = accessJti, Expires = accessExpires.UtcDateTime,
        }, redemption.Transaction, cancellationToken: ct));
        await redemption.EndAsync(commit: true, ct);
        return replayed;
    }
}
