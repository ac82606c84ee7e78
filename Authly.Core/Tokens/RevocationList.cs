using Authly.Storage;
using System.Collections.Concurrent;
using System.Globalization;
using Authly.Cluster;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Authly.Tokens;

/// <summary>
/// Revoked access-token ids. PostgreSQL is the record; every node keeps the unexpired set in
/// memory, so checking a token costs no round trip. A revocation is announced on the cluster
/// bus (seen by all nodes at once) and each node also re-reads recent rows every few seconds,
/// so a missed announcement delays a revocation by at most that interval.
/// </summary>
public sealed class RevocationList
{
    private const string Topic = "revoked";
    private static readonly TimeSpan SyncEvery = TimeSpan.FromSeconds(5);
    private readonly NpgsqlDataSource _db;
    private readonly IClusterBus _bus;
    private readonly TimeProvider _clock;
    private readonly ILogger<RevocationList> _log;
    private readonly ConcurrentDictionary<string, long> _revoked = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _syncLock = new(1, 1);
    private DateTime _syncedUpTo = DateTime.MinValue;
    private long _nextSyncTicks;
    private volatile bool _loaded;

    public RevocationList(NpgsqlDataSource db, IClusterBus bus, TimeProvider clock, ILogger<RevocationList> log)
    {
        (_db, _bus, _clock, _log) = (db, bus, clock, log);
        bus.Subscribe(Topic, message =>
        {
            var bar = message.IndexOf('|');
            if (bar > 0 && long.TryParse(message.AsSpan(bar + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var exp))
                _revoked[message[..bar]] = exp;
        });
    }

    public int Count => _revoked.Count;

    /// <summary>Reads the unexpired revocations, unless already loaded.</summary>
    public Task LoadAsync(CancellationToken ct) => _loaded ? Task.CompletedTask : SyncAsync(ct);

    public async ValueTask<bool> IsRevokedAsync(string jti, CancellationToken ct)
    {
        if (!_loaded) await SyncAsync(ct);
        else if (_clock.GetUtcNow().UtcTicks > Interlocked.Read(ref _nextSyncTicks)) _ = SyncInBackground();
        return _revoked.ContainsKey(jti);
    }

    private const string InsertSql = """
        INSERT INTO revoked_tokens (jti, expires_at) VALUES (@Jti, @ExpiresAt) ON CONFLICT (jti) DO NOTHING
        """;

    public async Task RevokeAsync(string jti, DateTimeOffset expires, CancellationToken ct)
    {
        if (expires <= _clock.GetUtcNow()) return;
        await using (var conn = await _db.OpenAsync(ct))
            await conn.ExecuteAsync(new CommandDefinition(InsertSql, new { Jti = jti, ExpiresAt = expires.UtcDateTime }, cancellationToken: ct));
        await AnnounceAsync(jti, expires);
    }

    /// <summary>
    /// Takes into this node's set, and announces to the others, revocations already committed to
    /// <c>revoked_tokens</c> by the caller's own transaction (<see cref="RefreshTokenStore"/> revoking
    /// families). Best effort by design: the revocation is complete without it, and a node that
    /// misses the message finds the rows at its next re-read.
    /// </summary>
    public async Task AnnounceAsync(IEnumerable<(string Jti, DateTime ExpiresAt)> committed)
    {
        foreach (var (jti, expiresAt) in committed)
            await AnnounceAsync(jti, new DateTimeOffset(DateTime.SpecifyKind(expiresAt, DateTimeKind.Utc)));
    }

    private async Task AnnounceAsync(string jti, DateTimeOffset expires)
    {
        _revoked[jti] = expires.ToUnixTimeSeconds();
        // Never throws (IClusterBus): a Redis outage must not turn a committed revocation into an error.
        await _bus.PublishAsync(Topic, $"{jti}|{expires.ToUnixTimeSeconds()}");
    }

    private async Task SyncInBackground()
    {
        try { await SyncAsync(CancellationToken.None); }
        catch (Exception e) { _log.LogWarning(e, "Could not refresh the revocation list; will retry."); }
    }

    private const string SyncSql = """
        SELECT jti, expires_at, revoked_at FROM revoked_tokens
        WHERE expires_at > now() AND revoked_at >= @Since
        """;

    private async Task SyncAsync(CancellationToken ct)
    {
        if (!await _syncLock.WaitAsync(_loaded ? 0 : Timeout.Infinite, ct)) return;
        try
        {
            // Requests that saw the interval pass while another sync ran arrive here after it: one re-read per interval.
            if (_loaded && _clock.GetUtcNow().UtcTicks <= Interlocked.Read(ref _nextSyncTicks)) return;
            Interlocked.Exchange(ref _nextSyncTicks, (_clock.GetUtcNow() + SyncEvery).UtcTicks);
            // Re-read a margin before the last sync: rows committed late by slow transactions still arrive.
            var since = _syncedUpTo == DateTime.MinValue ? DateTime.UnixEpoch : _syncedUpTo.AddSeconds(-30);
            await using var conn = await _db.OpenAsync(ct);
            var rows = await conn.QueryAsync<(string Jti, DateTime ExpiresAt, DateTime RevokedAt)>(
                new CommandDefinition(SyncSql, new { Since = DateTime.SpecifyKind(since, DateTimeKind.Utc) }, cancellationToken: ct));
            var newest = _syncedUpTo;
            foreach (var (jti, expiresAt, revokedAt) in rows)
            {
                _revoked[jti] = new DateTimeOffset(DateTime.SpecifyKind(expiresAt, DateTimeKind.Utc)).ToUnixTimeSeconds();
                if (revokedAt > newest) newest = revokedAt;
            }
            _syncedUpTo = newest;
            var now = _clock.GetUtcNow().ToUnixTimeSeconds();
            foreach (var (jti, exp) in _revoked)
                if (exp <= now) _revoked.TryRemove(jti, out _);
            _loaded = true;
        }
        finally { _syncLock.Release(); }
    }
}
