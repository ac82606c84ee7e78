using Authly.Storage;
using Authly.Security;
using Dapper;
using Npgsql;

namespace Authly.Sessions;

/// <summary>
/// Login sessions. The browser holds an opaque secret (HttpOnly cookie); the database holds
/// its hash. A session ends at its idle or absolute expiry, at logout, or when an admin or a
/// password change ends it. Every expiry is set and compared on the database clock (now()), so
/// nodes whose clocks disagree still agree on when a session ends (issue 12 finding 7).
/// </summary>
public sealed class SessionStore(NpgsqlDataSource db)
{
    public static readonly TimeSpan IdleLifetime = TimeSpan.FromHours(8);
    public static readonly TimeSpan AbsoluteLifetime = TimeSpan.FromDays(7);

    private const string Columns = "sid, user_id, auth_time, created_at, last_seen_at, idle_expires_at, absolute_expires_at, ended_at, ip, user_agent, amr, acr";

    private const string InsertSql = $"""
        INSERT INTO sessions (id_hash, sid, user_id, auth_time, idle_expires_at, absolute_expires_at, ip, user_agent, amr, acr)
        VALUES (@Hash, @Sid, @UserId, now(), now() + @Idle, now() + @Absolute, @Ip, @UserAgent, @Amr, @Acr)
        RETURNING {Columns}
        """;

    /// <summary>Starts a password-only session; returns the cookie secret (shown once) and the row.</summary>
    public Task<(string Secret, Session Session)> CreateAsync(Guid userId, string? ip, string? userAgent, CancellationToken ct) =>
        CreateAsync(userId, Mfa.AuthenticationMethods.AfterPassword, ip, userAgent, ct);

    /// <summary>Starts a session authenticated by <paramref name="amr"/> (its acr follows from them); returns the cookie secret (shown once) and the row.</summary>
    public async Task<(string Secret, Session Session)> CreateAsync(Guid userId, IReadOnlyList<string> amr, string? ip, string? userAgent, CancellationToken ct)
    {
        var secret = OpaqueToken.New(32);
        await using var conn = await db.OpenAsync(ct);
        var session = await conn.QuerySingleAsync<Session>(new CommandDefinition(InsertSql, new
        {
            Hash = OpaqueToken.Hash(secret), Sid = OpaqueToken.New(16), UserId = userId,
            Idle = IdleLifetime, Absolute = AbsoluteLifetime,
            Ip = ip, UserAgent = userAgent is { Length: > 300 } ua ? ua[..300] : userAgent,
            Amr = amr.ToArray(), Acr = Mfa.AuthenticationMethods.AcrOf(amr.ToList()),
        }, cancellationToken: ct));
        return (secret, session);
    }

    // Finding a live session also slides its idle expiry, in one statement.
    private const string TouchSql = $"""
        UPDATE sessions SET last_seen_at = now(), idle_expires_at = LEAST(now() + @Idle, absolute_expires_at)
        WHERE id_hash = @Hash AND ended_at IS NULL AND idle_expires_at > now() AND absolute_expires_at > now()
        RETURNING {Columns}
        """;

    public async Task<Session?> FindActiveAsync(string? secret, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(secret) || secret.Length > 100) return null;
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Session>(new CommandDefinition(TouchSql, new
        {
            Hash = OpaqueToken.Hash(secret), Idle = IdleLifetime,
        }, cancellationToken: ct));
    }

    // OIDC Back-Channel Logout §2.7 (issue 18): every statement that ends sessions also queues one logout per client that took
    // part in an ended session and registered a backchannel_logout_uri, in the same statement, so a logout is never lost
    // between the two (a crash, a restart) and is queued once per client per session (the queue's primary key).
    private const string QueueLogouts = """
        , queued AS (
            INSERT INTO backchannel_logouts (sid, client_id, user_id)
            SELECT e.sid, p.client_id, e.user_id FROM ended e
            JOIN session_clients p ON p.sid = e.sid
            JOIN clients c ON c.client_id = p.client_id AND c.backchannel_logout_uri IS NOT NULL
            ON CONFLICT DO NOTHING)
        """;

    private const string EndBySecretSql = $"""
        WITH ended AS (UPDATE sessions SET ended_at = now() WHERE id_hash = @Hash AND ended_at IS NULL RETURNING {Columns})
        {QueueLogouts}
        SELECT * FROM ended
        """;
    public async Task<Session?> EndAsync(string? secret, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(secret) || secret.Length > 100) return null;
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Session>(new CommandDefinition(EndBySecretSql, new { Hash = OpaqueToken.Hash(secret) }, cancellationToken: ct));
    }

    private const string EndBySidSql = $"""
        WITH ended AS (UPDATE sessions SET ended_at = now() WHERE sid = @Sid AND ended_at IS NULL AND (@UserId::uuid IS NULL OR user_id = @UserId)
            RETURNING sid, user_id)
        {QueueLogouts}
        SELECT count(*)::int FROM ended
        """;
    /// <summary>Ends one session by its public id (optionally only if it belongs to <paramref name="userId"/>).</summary>
    public async Task<bool> EndBySidAsync(string sid, Guid? userId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<int>(new CommandDefinition(EndBySidSql, new { Sid = sid, UserId = userId }, cancellationToken: ct)) > 0;
    }

    private const string EndAllSql = $"""
        WITH ended AS (UPDATE sessions SET ended_at = now() WHERE user_id = @UserId AND ended_at IS NULL AND (@KeepSid::text IS NULL OR sid <> @KeepSid)
            RETURNING sid, user_id)
        {QueueLogouts}
        SELECT count(*)::int FROM ended
        """;
    public Task<int> EndAllForUserAsync(Guid userId, CancellationToken ct) => EndAllForUserAsync(userId, keepSid: null, ct);

    /// <summary>Ends every session of the user except <paramref name="keepSid"/> (the caller's own).</summary>
    public async Task<int> EndAllForUserAsync(Guid userId, string? keepSid, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<int>(new CommandDefinition(EndAllSql, new { UserId = userId, KeepSid = keepSid }, cancellationToken: ct));
    }

    // Only for clients that registered a backchannel_logout_uri (the caller checks), so other redemptions write nothing more.
    private const string RecordClientSql = """
        INSERT INTO session_clients (sid, client_id)
        SELECT @Sid, @ClientId WHERE EXISTS (SELECT 1 FROM sessions WHERE sid = @Sid AND user_id = @UserId AND ended_at IS NULL)
        ON CONFLICT DO NOTHING
        """;

    /// <summary>
    /// Records that <paramref name="clientId"/> got tokens for session <paramref name="sid"/> of <paramref name="userId"/>
    /// (OIDC Back-Channel Logout §2.7: the RPs a session's end is sent to), in the caller's transaction.
    /// A session that has ended or belongs to someone else records nothing.
    /// </summary>
    public static Task RecordClientAsync(NpgsqlTransaction tx, string sid, string clientId, Guid userId, CancellationToken ct) =>
        tx.Connection!.ExecuteAsync(new CommandDefinition(RecordClientSql, new { Sid = sid, ClientId = clientId, UserId = userId }, tx, cancellationToken: ct));

    private const string ListSql = $"""
        SELECT {Columns} FROM sessions
        WHERE user_id = @UserId AND ended_at IS NULL AND idle_expires_at > now() AND absolute_expires_at > now()
        ORDER BY created_at DESC
        """;
    public async Task<IReadOnlyList<Session>> ListActiveAsync(Guid userId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await conn.QueryAsync<Session>(new CommandDefinition(ListSql, new { UserId = userId }, cancellationToken: ct))).AsList();
    }

    private const string CountActiveSql = "SELECT count(*) FROM sessions WHERE ended_at IS NULL AND idle_expires_at > now() AND absolute_expires_at > now()";
    public async Task<long> CountActiveAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<long>(new CommandDefinition(CountActiveSql, cancellationToken: ct));
    }
}
