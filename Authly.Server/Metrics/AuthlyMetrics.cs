using System.Diagnostics.Metrics;
using Authly.Counters;
using Authly.Grants;
using Authly.Sessions;
using Authly.Storage;
using Authly.Tokens;
using Authly.Users;
using Authly.Vault;
using Npgsql;

namespace Authly.Server.Metrics;

/// <summary>
/// Authly's instruments (System.Diagnostics.Metrics, meter "Authly"). Core raises plain events;
/// this class turns them into counters. Labels carry outcomes and route templates only: never
/// user names, client secrets or tokens.
/// </summary>
public sealed class AuthlyMetrics : IDisposable
{
    public const string MeterName = "Authly";
    private static int _instances;
    private readonly Meter _meter;

    /// <summary>
    /// The meter's name for one server: "Authly" for the first in a process, "Authly.2", ... for more (tests run several).
    /// A meter provider subscribes by name and merges same-named instruments, so each server's /metrics must name its own.
    /// </summary>
    public sealed record MeterIdentity(string Name)
    {
        public static MeterIdentity Next() => Interlocked.Increment(ref _instances) is var n && n == 1 ? new(MeterName) : new($"{MeterName}.{n}");
    }
    public Counter<long> HttpRequests { get; }
    public Histogram<double> HttpDuration { get; }
    private readonly Counter<long> _tokenRequests;
    private readonly Counter<long> _logins;
    private readonly Counter<long> _rateLimitHits;
    private readonly Counter<long> _lockouts;
    private readonly Counter<long> _vaultOperations;
    private readonly Counter<long> _rateLimitLocal;
    private readonly DatabaseGauges _gauges;

    public AuthlyMetrics(GrantEngine grants, PasswordLogin login, RateLimiter limiter, RevocationList revocations, SessionStore sessions,
        RefreshTokenStore refreshTokens, VaultAudit vaultAudit, NpgsqlDataSource db, RedisHealth redis, TimeProvider clock, ICounterStore counters,
        ExpiredRowSweeper sweeper, SigningKeyStore signingKeys, SigningKeyRotation keyRotation, BackchannelLogout backchannel, MeterIdentity identity)
    {
        _meter = new(identity.Name, AuthlyWebApp.Version);
        HttpRequests = _meter.CreateCounter<long>("authly_http_requests_total", description: "HTTP requests by method, route template and status");
        HttpDuration = _meter.CreateHistogram<double>("authly_http_request_duration_seconds", "s", "HTTP request duration by method and route template");
        _tokenRequests = _meter.CreateCounter<long>("authly_oauth_token_requests_total", description: "Token endpoint requests by grant type and outcome");
        _logins = _meter.CreateCounter<long>("authly_auth_login_attempts_total", description: "Password checks (grant and login page) by outcome");
        _rateLimitHits = _meter.CreateCounter<long>("authly_rate_limit_hits_total", description: "Requests refused by the per-IP rate limit");
        _lockouts = _meter.CreateCounter<long>("authly_account_lockout_hits_total", description: "Logins refused because the account is locked");

        grants.Completed += (grant, outcome) => _tokenRequests.Add(1, new("grant_type", grant), new("status", outcome));
        login.Attempted += outcome =>
        {
            _logins.Add(1, new KeyValuePair<string, object?>("status", outcome));
            if (outcome == "locked") _lockouts.Add(1);
        };
        _vaultOperations = _meter.CreateCounter<long>("authly_vault_operations_total", description: "Token vault calls by action and outcome");
        limiter.Limited += () => _rateLimitHits.Add(1);
        vaultAudit.Recorded += (action, outcome) => _vaultOperations.Add(1, new("action", action), new("outcome", outcome));
        // Start at zero, so the series exists (and dashboards show 0, not "no data") before the first event.
        _rateLimitHits.Add(0);
        _lockouts.Add(0);

        // Issue 12: while Redis is unreachable, rate limits are counted per node (lockouts are not: PostgreSQL).
        _rateLimitLocal = _meter.CreateCounter<long>("authly_rate_limit_local_total",
            description: "Rate-limit hits counted on this node only because Redis was unreachable");
        _rateLimitLocal.Add(0);
        var shared = counters as RedisCounterStore;
        if (shared is not null) shared.CountedLocally += () => _rateLimitLocal.Add(1);
        _meter.CreateObservableGauge("authly_counter_store_degraded", () => shared is null ? -1 : shared.Degraded ? 1 : 0,
            description: "1 while rate limits are counted per node because Redis is unreachable, 0 shared, -1 no Redis configured (always per node)");

        // Issue 14: the expired-row sweeper. Only the node holding the round's lock deletes, so sum the counter over nodes.
        var swept = _meter.CreateCounter<long>("authly_sweeper_deleted_rows_total", description: "Expired rows deleted by this node's sweeper, by table");
        foreach (var table in ExpiredRowSweeper.Tables) swept.Add(0, new KeyValuePair<string, object?>("table", table));
        sweeper.Swept += (table, rows) => swept.Add(rows, new KeyValuePair<string, object?>("table", table));
        _meter.CreateObservableGauge("authly_sweeper_last_run_timestamp_seconds", () => sweeper.LastRun?.ToUnixTimeSeconds() ?? 0,
            description: "Unix time this node last finished a sweep round (0: never; a node that never wins the lock stays at 0)");

        // Issue 18: signing-key rotation. Read from the ring this node last used: no database read at scrape time.
        _meter.CreateObservableGauge("authly_signing_key_age_seconds",
            () => signingKeys.LastRing is { Active.Algorithm: not "HS256" } ring ? (clock.GetUtcNow().UtcDateTime - ring.Active.ActivatesAt).TotalSeconds : 0,
            "s", "How long the key this node signs with has been signing (0 before the first token, and in HS256 mode)");
        _meter.CreateObservableGauge("authly_signing_key_pending", () => signingKeys.LastRing?.Pending is null ? 0 : 1,
            description: "1 while a new signing key is published and waiting for its activation instant");
        var rotations = _meter.CreateCounter<long>("authly_signing_key_rotations_scheduled_total",
            description: "Automatic rotations this node scheduled (one node per rotation: sum over nodes)");
        rotations.Add(0);
        keyRotation.Scheduled += () => rotations.Add(1);

        // Issue 18: back-channel logout deliveries (attempts on this node; the queue is shared, so pending is the cluster's).
        var logouts = _meter.CreateCounter<long>("authly_backchannel_logout_attempts_total",
            description: "Back-channel logout POSTs by outcome: delivered, retry (failed, will be retried), failed (given up)");
        foreach (var outcome in new[] { "delivered", "retry", "failed" }) logouts.Add(0, new KeyValuePair<string, object?>("outcome", outcome));
        backchannel.Attempted += outcome => logouts.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

        _gauges = new DatabaseGauges(sessions, refreshTokens, backchannel, clock);
        _meter.CreateObservableGauge("authly_backchannel_logout_pending", () => _gauges.PendingLogouts,
            description: "Back-channel logouts queued and neither delivered nor given up");
        _meter.CreateObservableGauge("authly_active_sessions", () => _gauges.Sessions, description: "Live login sessions");
        _meter.CreateObservableGauge("authly_active_refresh_token_families", () => _gauges.Families, description: "Refresh-token families not revoked");
        _meter.CreateObservableGauge("authly_revoked_access_tokens", () => (long)revocations.Count, description: "Unexpired revoked access-token ids held in memory");
        _meter.CreateObservableGauge("authly_database_up", () => _gauges.DatabaseUp, description: "1 when the last database query succeeded");
        _meter.CreateObservableGauge("authly_redis_up", () => redis.State, description: "1 connected, 0 disconnected, -1 not configured");
    }

    /// <summary>Refreshes the database-backed gauges at most every 15 s, at scrape time, so scraping cannot load the database.</summary>
    public Task RefreshGaugesAsync(CancellationToken ct) => _gauges.RefreshAsync(ct);

    public void Dispose() => _meter.Dispose();

    private sealed class DatabaseGauges(SessionStore sessions, RefreshTokenStore refreshTokens, BackchannelLogout backchannel, TimeProvider clock)
    {
        private DateTimeOffset _next;
        public long Sessions { get; private set; }
        public long Families { get; private set; }
        public long PendingLogouts { get; private set; }
        public int DatabaseUp { get; private set; } = 1;

        public async Task RefreshAsync(CancellationToken ct)
        {
            if (clock.GetUtcNow() < _next) return;
            _next = clock.GetUtcNow().AddSeconds(15);
            try
            {
                Sessions = await sessions.CountActiveAsync(ct);
                Families = await refreshTokens.CountActiveFamiliesAsync(ct);
                PendingLogouts = await backchannel.CountPendingAsync(ct);
                DatabaseUp = 1;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException) { DatabaseUp = 0; }
        }
    }
}
