using System.Security.Cryptography;
using System.Text.Json.Serialization;
using Authly.Clients;
using Authly.OAuth;
using Authly.Scopes;
using Authly.Security;
using Authly.Tokens;
using Dapper;
using Npgsql;

namespace Authly.Authorization;

/// <summary>
/// RFC 8628: device and user codes, the user's decision, and polling state. User codes are
/// eight letters from a consonant-only alphabet (§6.1: no vowels, so no words; easy to type),
/// compared without regard to case, dashes or spaces.
/// </summary>
public sealed class DeviceAuthorization(NpgsqlDataSource db, ScopeStore scopeStore, Issuer issuer, TimeProvider clock)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);
    public const int IntervalSeconds = 5;
    public const string UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ";
    public const int UserCodeLength = 8;

    public sealed record Started(
        [property: JsonPropertyName("device_code")] string DeviceCode,
        [property: JsonPropertyName("user_code")] string UserCode,
        [property: JsonPropertyName("verification_uri")] string VerificationUri,
        [property: JsonPropertyName("verification_uri_complete")] string VerificationUriComplete,
        [property: JsonPropertyName("expires_in")] int ExpiresIn,
        [property: JsonPropertyName("interval")] int Interval);

    public sealed record Pending(Client Client, IReadOnlySet<string> Scopes, string UserCode);

    public sealed record Row
    {
        public string UserCode { get; init; } = "";
        public string ClientId { get; init; } = "";
        public string Scope { get; init; } = "";
        public DateTime ExpiresAt { get; init; }
        public int IntervalSeconds { get; init; }
        public DateTime? PreviousPoll { get; init; }
        public string Status { get; init; } = "";
        public Guid? UserId { get; init; }
        public DateTime? AuthTime { get; init; }
        public string? SessionId { get; init; }
    }

    public static string Normalize(string userCode) =>
        new(userCode.Where(c => c is not ('-' or ' ')).Select(char.ToUpperInvariant).ToArray());

    public static string Format(string normalized) => normalized.Length == 8 ? $"{normalized[..4]}-{normalized[4..]}" : normalized;

    private const string InsertSql = """
        INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, expires_at, interval_seconds)
        VALUES (@Hash, @UserCode, @ClientId, @Scope, @ExpiresAt, @Interval)
        ON CONFLICT (user_code) DO NOTHING
        """;

    public async Task<Started> StartAsync(Client client, string? scope, CancellationToken ct)
    {
        if (!client.AllowsGrant(GrantTypes.DeviceCode))
            throw OAuthException.UnauthorizedClient("The client is not allowed to use the device authorization grant");
        var requested = ScopeSet.Parse(scope);
        var active = await scopeStore.ActiveAsync(ct);
        if (requested.Any(s => !active.ContainsKey(s) || !client.Scopes.Contains(s, StringComparer.Ordinal)))
            throw OAuthException.InvalidScope("The requested scope is not allowed for this client");
        var granted = requested.Count > 0 ? requested : client.Scopes.Where(active.ContainsKey).ToHashSet();

        var deviceCode = OpaqueToken.New(32);
        await using var conn = await db.OpenConnectionAsync(ct);
        for (var attempt = 0; ; attempt++)
        {
            var userCode = new string(Enumerable.Range(0, UserCodeLength).Select(_ => UserCodeAlphabet[RandomNumberGenerator.GetInt32(UserCodeAlphabet.Length)]).ToArray());
            var inserted = await conn.ExecuteAsync(new CommandDefinition(InsertSql, new
            {
                Hash = OpaqueToken.Hash(deviceCode), UserCode = userCode, client.ClientId, Scope = ScopeSet.Join(granted),
                ExpiresAt = (clock.GetUtcNow() + Lifetime).UtcDateTime, Interval = IntervalSeconds,
            }, cancellationToken: ct));
            if (inserted == 1)
            {
                var uri = issuer.Value + "/device";
                return new Started(deviceCode, Format(userCode), uri, $"{uri}?user_code={Format(userCode)}", (int)Lifetime.TotalSeconds, IntervalSeconds);
            }
            if (attempt > 5) throw new InvalidOperationException("Could not allocate a unique user code");
        }
    }

    private const string PendingSql = """
        SELECT user_code, client_id, scope, expires_at, interval_seconds, status, user_id, auth_time, session_id
        FROM device_codes WHERE user_code = @UserCode AND status = 'pending' AND expires_at > @Now
        """;

    /// <summary>A pending request by its user code, for the verification page; null when unknown, decided or expired.</summary>
    public async Task<(Row Row, string Normalized)?> FindPendingAsync(string userCode, CancellationToken ct)
    {
        var normalized = Normalize(userCode);
        if (normalized.Length != UserCodeLength || normalized.Any(c => !UserCodeAlphabet.Contains(c))) return null;
        await using var conn = await db.OpenConnectionAsync(ct);
        var row = await conn.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(PendingSql, new { UserCode = normalized, Now = clock.GetUtcNow().UtcDateTime }, cancellationToken: ct));
        return row is null ? null : (row, normalized);
    }

    private const string DecideSql = """
        UPDATE device_codes SET status = @Status, user_id = @UserId, auth_time = @AuthTime, session_id = @Sid
        WHERE user_code = @UserCode AND status = 'pending' AND expires_at > @Now
        """;

    /// <summary>The signed-in user approves or denies; false when the code is no longer pending.</summary>
    public async Task<bool> DecideAsync(string userCode, bool approve, Guid userId, DateTime authTime, string? sid, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(DecideSql, new
        {
            UserCode = Normalize(userCode), Status = approve ? "approved" : "denied", UserId = userId,
            AuthTime = DateTime.SpecifyKind(authTime, DateTimeKind.Utc), Sid = sid, Now = clock.GetUtcNow().UtcDateTime,
        }, cancellationToken: ct)) == 1;
    }

    // Records this poll and, in the same statement, returns when the previous one was.
    private const string PollSql = """
        WITH prev AS (SELECT device_code_hash, last_polled_at, interval_seconds FROM device_codes WHERE device_code_hash = @Hash FOR UPDATE)
        UPDATE device_codes d SET last_polled_at = @Now,
            interval_seconds = CASE WHEN prev.last_polled_at IS NOT NULL
                                     AND @Now < prev.last_polled_at + make_interval(secs => prev.interval_seconds)
                                    THEN prev.interval_seconds + 5 ELSE prev.interval_seconds END
        FROM prev WHERE d.device_code_hash = prev.device_code_hash
        RETURNING d.user_code, d.client_id, d.scope, d.expires_at, prev.interval_seconds, prev.last_polled_at AS previous_poll,
                  d.status, d.user_id, d.auth_time, d.session_id
        """;

    public async Task<Row?> PollAsync(string deviceCode, CancellationToken ct)
    {
        if (deviceCode.Length > 256) return null;
        await using var conn = await db.OpenConnectionAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(PollSql, new { Hash = OpaqueToken.Hash(deviceCode), Now = clock.GetUtcNow().UtcDateTime }, cancellationToken: ct));
    }

    private const string ConsumeSql = "UPDATE device_codes SET status = 'consumed' WHERE device_code_hash = @Hash AND status = 'approved'";
    /// <summary>Marks an approved code used; only one poll can win.</summary>
    public async Task<bool> ConsumeAsync(string deviceCode, CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(ConsumeSql, new { Hash = OpaqueToken.Hash(deviceCode) }, cancellationToken: ct)) == 1;
    }
}
