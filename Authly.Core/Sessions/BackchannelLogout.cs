using System.Net;
using System.Net.Sockets;
using Authly.Clients;
using Authly.Configuration;
using Authly.Security;
using Authly.Storage;
using Authly.Tokens;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace Authly.Sessions;

/// <summary>
/// OIDC Back-Channel Logout 1.0 (issue 18): delivers the logouts <see cref="SessionStore"/> queued when sessions ended.
/// Every node polls the queue (<see cref="RunAsync"/>); a round claims due rows with <c>FOR UPDATE SKIP LOCKED</c> and
/// leases them, so two nodes never send the same one at once; each row is one (session, client) pair, so a client gets
/// one logout per session. A failed POST is retried with exponential backoff (1 s doubling, at most 10 minutes apart)
/// for <see cref="MaxAttempts"/> attempts, then marked failed. The queue is in PostgreSQL: a restart loses nothing.
/// </summary>
public sealed class BackchannelLogout : IDisposable
{
    /// <summary>§2.4: the member of <c>events</c> that makes a JWT a logout token.</summary>
    public const string EventType = "http://schemas.openid.net/event/backchannel-logout";
    /// <summary>§2.4: the JWT typ header of a logout token (draft-ietf-secevent-token / RFC 8417 explicit typing).</summary>
    public const string TokenType = "logout+jwt";
    public const int MaxAttempts = 15;
    /// <summary>A logout token is for immediate use: a receiver must refuse a stale one (§2.6), so it lives two minutes.</summary>
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(10);
    /// <summary>A claimed row is not claimed again for this long: longer than one POST may take.</summary>
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private const int Batch = 20;
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    private readonly NpgsqlDataSource _db;
    private readonly SigningKeyStore _keys;
    private readonly Issuer _issuer;
    private readonly TimeProvider _clock;
    private readonly ILogger<BackchannelLogout> _log;
    private readonly HttpClient _http;

    /// <summary>Raised per attempt with its outcome: delivered, retry or failed.</summary>
    public event Action<string>? Attempted;

    public BackchannelLogout(NpgsqlDataSource db, SigningKeyStore keys, Issuer issuer, AuthlyOptions options, TimeProvider clock, ILogger<BackchannelLogout> log)
    {
        (_db, _keys, _issuer, _clock, _log) = (db, keys, issuer, clock, log);
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(5), UseCookies = false };
        // The URI was checked at registration, but a public name can resolve to an internal address later (DNS rebinding):
        // outside embedded and testing mode the address actually connected to is checked too.
        if (options.Mode is not (AuthlyMode.Embedded or AuthlyMode.Testing)) handler.ConnectCallback = ConnectPublicOnlyAsync;
        _http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
    }

    private static async ValueTask<Stream> ConnectPublicOnlyAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, ct);
        var allowed = addresses.Where(a => !ClientRules.IsInternalAddress(a)).ToArray();
        if (allowed.Length == 0 || allowed.Length != addresses.Length)
            throw new HttpRequestException($"{context.DnsEndPoint.Host} resolves to an internal address; back-channel logout is not sent there");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch { socket.Dispose(); throw; }
    }

    private sealed record Due(string Sid, string ClientId, Guid UserId, int Attempts, string? Uri);

    private const string ClaimSql = """
        WITH due AS (
            SELECT sid, client_id FROM backchannel_logouts
            WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
            ORDER BY next_attempt_at LIMIT @Batch FOR UPDATE SKIP LOCKED)
        UPDATE backchannel_logouts l SET next_attempt_at = now() + @Lease, attempts = l.attempts + 1
        FROM due WHERE l.sid = due.sid AND l.client_id = due.client_id
        RETURNING l.sid, l.client_id, l.user_id, l.attempts,
            (SELECT c.backchannel_logout_uri FROM clients c WHERE c.client_id = l.client_id AND c.is_active) AS uri
        """;
    private const string DeliveredSql = "UPDATE backchannel_logouts SET delivered_at = now(), last_error = NULL WHERE sid = @Sid AND client_id = @ClientId";
    private const string RetrySql = """
        UPDATE backchannel_logouts SET next_attempt_at = now() + @Backoff, last_error = @Error WHERE sid = @Sid AND client_id = @ClientId
        """;
    private const string FailedSql = "UPDATE backchannel_logouts SET failed_at = now(), last_error = @Error WHERE sid = @Sid AND client_id = @ClientId";

    /// <summary>One round: sends every due logout (up to a batch), returns how many were attempted.</summary>
    public async Task<int> DeliverDueAsync(CancellationToken ct)
    {
        List<Due> due;
        await using (var conn = await _db.OpenAsync(ct))
            due = (await conn.QueryAsync<Due>(new CommandDefinition(ClaimSql, new { Batch, Lease }, cancellationToken: ct))).AsList();
        if (due.Count == 0) return 0;
        await Task.WhenAll(due.Select(d => DeliverAsync(d, ct)));
        return due.Count;
    }

    private async Task DeliverAsync(Due d, CancellationToken ct)
    {
        string? error;
        if (d.Uri is null) error = "client deleted, deactivated or without backchannel_logout_uri";
        else
        {
            try
            {
                using var content = new FormUrlEncodedContent([new("logout_token", await CreateTokenAsync(d.ClientId, d.UserId, d.Sid, ct))]);
                using var response = await _http.PostAsync(d.Uri, content, ct);
                // §2.8: 200 OK (204 tolerated); anything else, a redirect included, is a failure.
                error = response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException && !ct.IsCancellationRequested)
            {
                error = e.GetType().Name + ": " + LogText.Safe(e.Message);
            }
        }
        await using var conn = await _db.OpenAsync(CancellationToken.None);
        var key = new { d.Sid, d.ClientId };
        if (error is null)
        {
            await conn.ExecuteAsync(new CommandDefinition(DeliveredSql, key, cancellationToken: CancellationToken.None));
            Attempted?.Invoke("delivered");
            return;
        }
        error = error.Length > 300 ? error[..300] : error;
        if (d.Uri is null || d.Attempts >= MaxAttempts)
        {
            await conn.ExecuteAsync(new CommandDefinition(FailedSql, new { d.Sid, d.ClientId, Error = error }, cancellationToken: CancellationToken.None));
            _log.LogWarning("Back-channel logout to client {ClientId} failed for good after {Attempts} attempts: {Error}", LogText.Safe(d.ClientId), d.Attempts, error);
            Attempted?.Invoke("failed");
            return;
        }
        var backoff = TimeSpan.FromSeconds(Math.Min(Math.Pow(2, d.Attempts - 1), MaxBackoff.TotalSeconds));
        await conn.ExecuteAsync(new CommandDefinition(RetrySql, new { d.Sid, d.ClientId, Error = error, Backoff = backoff }, cancellationToken: CancellationToken.None));
        _log.LogInformation("Back-channel logout to client {ClientId} failed ({Error}); attempt {Attempt} of {Max} in {Seconds} s",
            LogText.Safe(d.ClientId), error, d.Attempts + 1, MaxAttempts, backoff.TotalSeconds);
        Attempted?.Invoke("retry");
    }

    /// <summary>
    /// §2.4 logout token: iss, aud (the client), iat, exp, jti, events, sub and sid; never a nonce (§2.4 forbids it, so a
    /// logout token can never pass as an ID token); typ logout+jwt; signed with the key that signs ID tokens.
    /// </summary>
    public async Task<string> CreateTokenAsync(string clientId, Guid userId, string sid, CancellationToken ct)
    {
        var ring = await _keys.RingAsync(ct);
        if (ring.Active.Algorithm == "HS256")
            throw new InvalidOperationException("HS256 mode publishes no key a relying party could verify a logout token with");
        var now = _clock.GetUtcNow();
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _issuer.Value,
            Audience = clientId,
            IssuedAt = now.UtcDateTime,
            Expires = (now + TokenLifetime).UtcDateTime,
            TokenType = TokenType,
            Claims = new Dictionary<string, object>
            {
                ["sub"] = userId.ToString(),
                ["sid"] = sid,
                ["jti"] = OpaqueToken.New(16),
                ["events"] = new Dictionary<string, object> { [EventType] = new Dictionary<string, object>() },
            },
            SigningCredentials = new SigningCredentials(ring.Active.Key, ring.Active.Algorithm),
        });
    }

    private const string PendingSql = "SELECT count(*) FROM backchannel_logouts WHERE delivered_at IS NULL AND failed_at IS NULL";
    /// <summary>Logouts queued and not yet delivered or given up (for the metric).</summary>
    public async Task<long> CountPendingAsync(CancellationToken ct)
    {
        await using var conn = await _db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<long>(new CommandDefinition(PendingSql, cancellationToken: ct));
    }

    /// <summary>The loop every node runs until <paramref name="stop"/>: a round every second; it never throws.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(PollInterval, _clock);
        var failing = false;
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    while (await DeliverDueAsync(stop) == Batch) { }
                    if (failing) _log.LogInformation("Back-channel logout delivery works again");
                    failing = false;
                }
                catch (Exception e) when (!stop.IsCancellationRequested)
                {
                    if (!failing) _log.LogWarning(e, "Back-channel logout delivery round failed; trying again every second");
                    failing = true;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
    }

    public void Dispose() => _http.Dispose();
}
