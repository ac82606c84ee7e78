using Authly.Storage;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json.Serialization;
using Authly.Clients;
using Authly.Configuration;
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
/// compared without regard to case, dashes or spaces. Every lookup by user code spends one
/// attempt of <see cref="UserCodeAttempts"/> (§5.1; the entropy arithmetic is there). The approval
/// names the request by a sealed handle that the verification page got, never by the user code.
/// </summary>
public sealed class DeviceAuthorization(NpgsqlDataSource db, ScopeStore scopeStore, Issuer issuer, TimeProvider clock,
    UserCodeAttempts attempts, AuthlyOptions options)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);
    public const int IntervalSeconds = 5;
    public const string UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ";
    public const int UserCodeLength = 8;
    private readonly SecretBox _handles = new(options.JwtSecretKey, "authly-device-confirm");

    /// <summary>The signed-in browser that looks up or decides a user code: whose budget it spends, and the session a handle is bound to.</summary>
    public sealed record Verifier(Guid UserId, string? Sid, string? ClientIp);

    /// <summary>What the verification page shows, and the handle its approval form carries back.</summary>
    public sealed record Shown(Row Row, string UserCode, string Handle);

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
        /// <summary>Set by a poll: it came before the previous poll + the interval (database clock).</summary>
        public bool TooFast { get; init; }
        /// <summary>Set by a poll: expires_at has passed on the database clock.</summary>
        public bool Expired { get; init; }
        public string Status { get; init; } = "";
        public Guid? UserId { get; init; }
        public DateTime? AuthTime { get; init; }
        public string? SessionId { get; init; }
        /// <summary>The approving session's RFC 8176 methods (null before issue 16).</summary>
        public string[]? Amr { get; init; }
        public byte[] DeviceCodeHash { get; init; } = [];
    }

    public static string Normalize(string userCode) =>
        new(userCode.Where(c => c is not ('-' or ' ')).Select(char.ToUpperInvariant).ToArray());

    public static string Format(string normalized) => normalized.Length == 8 ? $"{normalized[..4]}-{normalized[4..]}" : normalized;

    private const string InsertSql = """
        INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, expires_at, interval_seconds)
        VALUES (@Hash, @UserCode, @ClientId, @Scope, now() + @Lifetime, @Interval)
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
        await using var conn = await db.OpenAsync(ct);
        for (var attempt = 0; ; attempt++)
        {
            var userCode = new string(Enumerable.Range(0, UserCodeLength).Select(_ => UserCodeAlphabet[RandomNumberGenerator.GetInt32(UserCodeAlphabet.Length)]).ToArray());
            var inserted = await conn.ExecuteAsync(new CommandDefinition(InsertSql, new
            {
                Hash = OpaqueToken.Hash(deviceCode), UserCode = userCode, client.ClientId, Scope = ScopeSet.Join(granted),
                Lifetime, Interval = IntervalSeconds,
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
        SELECT device_code_hash, user_code, client_id, scope, expires_at, interval_seconds, status, user_id, auth_time, session_id, amr
        FROM device_codes WHERE user_code = @UserCode AND status = 'pending' AND expires_at > now()
        """;

    /// <summary>
    /// A pending request by its user code, for the verification page; null when malformed, unknown,
    /// decided or expired, all alike (§5.1: the page is no oracle beyond showing a live code to the
    /// one who typed it). Spends one attempt first; throws the 429 once the budget is spent.
    /// </summary>
    public async Task<Shown?> ShowAsync(string userCode, Verifier verifier, CancellationToken ct)
    {
        await attempts.ReserveAsync(verifier.UserId, verifier.ClientIp, ct);
        var normalized = Normalize(userCode);
        if (normalized.Length != UserCodeLength || normalized.Any(c => !UserCodeAlphabet.Contains(c))) return null;
        await using var conn = await db.OpenAsync(ct);
        var row = await conn.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(PendingSql, new { UserCode = normalized }, cancellationToken: ct));
        return row is null ? null : new Shown(row, Format(normalized), SealHandle(row, verifier));
    }

    // The handle: AES-GCM (SecretBox) over the row's key (the device code hash, never shown in
    // clear) and the row's expiry, with the user and session as associated data, so it opens only
    // in the session that was shown the page, names only that row, and dies with the code.
    private static string HandleBinding(Verifier verifier) => $"device-confirm|{verifier.UserId:N}|{verifier.Sid}";

    private string SealHandle(Row row, Verifier verifier)
    {
        var payload = new byte[row.DeviceCodeHash.Length + 8];
        row.DeviceCodeHash.CopyTo(payload, 0);
        BinaryPrimitives.WriteInt64BigEndian(payload.AsSpan(row.DeviceCodeHash.Length), new DateTimeOffset(row.ExpiresAt).ToUnixTimeSeconds());
        return Base64Url.EncodeToString(_handles.Seal(payload, HandleBinding(verifier)));
    }

    /// <summary>The device code hash a handle names, or null when it is malformed, forged, from another session or expired.</summary>
    private byte[]? OpenHandle(string? handle, Verifier verifier)
    {
        if (handle is not { Length: > 0 and <= 200 }) return null;
        try
        {
            var payload = _handles.Open(Base64Url.DecodeFromChars(handle), HandleBinding(verifier));
            if (payload.Length != 32 + 8) return null;
            var expires = DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64BigEndian(payload.AsSpan(32)));
            return clock.GetUtcNow() < expires ? payload[..32] : null;
        }
        catch (Exception e) when (e is CryptographicException or FormatException) { return null; }
    }

    private const string DecideSql = """
        UPDATE device_codes SET status = @Status, user_id = @UserId, auth_time = @AuthTime, session_id = @Sid, amr = @Amr, acr = @Acr
        WHERE device_code_hash = @Hash AND status = 'pending' AND expires_at > now()
        """;

    /// <summary>
    /// The signed-in user approves or denies the request named by <paramref name="handle"/> (from
    /// <see cref="ShowAsync"/> in the same session); false, and nothing changed, when the handle is
    /// not valid for this session or the request is no longer pending. Spends one attempt first.
    /// </summary>
    public async Task<bool> DecideAsync(string? handle, bool approve, Verifier verifier, DateTime authTime, IReadOnlyList<string> amr, CancellationToken ct)
    {
        await attempts.ReserveAsync(verifier.UserId, verifier.ClientIp, ct);
        if (OpenHandle(handle, verifier) is not { } hash) return false;
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(DecideSql, new
        {
            Hash = hash, Status = approve ? "approved" : "denied", UserId = verifier.UserId,
            AuthTime = authTime, verifier.Sid, Amr = amr.ToArray(), Acr = Mfa.AuthenticationMethods.AcrOf(amr.ToList()),
        }, cancellationToken: ct)) == 1;
    }

    // Records this poll and, in the same statement, says whether it came too soon after the
    // previous one (RFC 8628 §3.5 slow_down) and whether the code has expired. Both are decided on
    // the database clock: polls that alternate between nodes whose clocks disagree must still be
    // measured against one clock, or a node behind sees every poll as early (issue 12 finding 7).
    private const string PollSql = """
        WITH prev AS (SELECT device_code_hash, last_polled_at, interval_seconds,
                             last_polled_at IS NOT NULL AND now() < last_polled_at + make_interval(secs => interval_seconds) AS too_fast
                      FROM device_codes WHERE device_code_hash = @Hash FOR UPDATE)
        UPDATE device_codes d SET last_polled_at = now(),
            interval_seconds = CASE WHEN prev.too_fast THEN prev.interval_seconds + 5 ELSE prev.interval_seconds END
        FROM prev WHERE d.device_code_hash = prev.device_code_hash
        RETURNING d.user_code, d.client_id, d.scope, d.expires_at, d.expires_at <= now() AS expired, prev.interval_seconds,
                  prev.too_fast, d.status, d.user_id, d.auth_time, d.session_id, d.amr
        """;

    public async Task<Row?> PollAsync(string deviceCode, CancellationToken ct)
    {
        if (deviceCode.Length > 256) return null;
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(PollSql, new { Hash = OpaqueToken.Hash(deviceCode) }, cancellationToken: ct));
    }

    private const string ConsumeSql = "UPDATE device_codes SET status = 'consumed' WHERE device_code_hash = @Hash AND status = 'approved'";
    /// <summary>Marks an approved code used; only one poll can win.</summary>
    public async Task<bool> ConsumeAsync(string deviceCode, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(ConsumeSql, new { Hash = OpaqueToken.Hash(deviceCode) }, cancellationToken: ct)) == 1;
    }
}
