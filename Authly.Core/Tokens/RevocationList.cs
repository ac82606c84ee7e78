using System.Collections.Concurrent;
using System.Globalization;
using Authly.Caching;
using Authly.Cluster;
using Authly.Storage;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Authly.Tokens;

/// <summary>
/// Revoked access-token ids. PostgreSQL is the record; every node keeps the unexpired set in
/// memory, so checking a token costs no round trip. A revocation is announced on the cluster
/// bus (seen by all nodes at once) and each node also re-reads recent rows every few seconds
/// (a <see cref="RefreshingValue{TValue}"/> whose value is how far it has read: one re-read at a
/// time, in the background, so no check waits for it), so a missed announcement delays a
/// revocation by at most that interval. During an outage the set read so far stays in force.
/// The set holds live revocations only (issue 14): an entry is dropped once its token's exp has passed
/// on this node's clock (checked at each re-read and, however a node learns of revocations, at most
/// every <see cref="SyncEvery"/> as entries arrive), and one already expired is never taken in: the
/// lifetime check refuses such a token anyway. The rows themselves go with Storage.ExpiredRowSweeper.
/// </summary>
public sealed class RevocationList
{
    private const string Topic = "revoked";
    private static readonly TimeSpan SyncEvery = TimeSpan.FromSeconds(5);
    private readonly NpgsqlDataSource _db;
    private readonly IClusterBus _bus;
    private readonly TimeProvider _clock;
    private readonly ConcurrentDictionary<string, long> _revoked = new(StringComparer.Ordinal);
    // When the set was last re-read; at most one re-read runs at a time (RefreshingValue), and only it moves _readUpTo.
    private readonly RefreshingValue<DateTime> _synced;
    // The newest revoked_at read so far.
    private DateTime _readUpTo = DateTime.MinValue;
    // When entries arriving next drop the expired ones (UTC ticks on _clock).
    private long _nextPruneTicks;

    public RevocationList(NpgsqlDataSource db, IClusterBus bus, TimeProvider clock, ILogger<RevocationList> log)
    {
        (_db, _bus, _clock) = (db, bus, clock);
        // A revocation only ever takes rights away, so the set read so far is served however long an outage lasts.
        _synced = new RefreshingValue<DateTime>("revocations", clock, log, SyncEvery, TimeSpan.MaxValue, SyncAsync, refreshInBackground: true);
        bus.Subscribe(Topic, message =>
        {
            var bar = message.IndexOf('|');
            if (bar > 0 && long.TryParse(message.AsSpan(bar + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var exp))
                Hold(message[..bar], exp);
        });
    }

    public int Count => _revoked.Count;

    /// <summary>Reads the unexpired revocations, unless already loaded.</summary>
    public Task LoadAsync(CancellationToken ct) => _synced.IsLoaded ? Task.CompletedTask : _synced.GetAsync(ct).AsTask();

    public async ValueTask<bool> IsRevokedAsync(string jti, CancellationToken ct)
    {
        // The first call waits for the first read; later ones start a due re-read and answer from the set at once.
        await _synced.GetAsync(ct);
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
            await AnnounceAsync(jti, new DateTimeOffset(expiresAt));
    }

    private async Task AnnounceAsync(string jti, DateTimeOffset expires)
    {
        Hold(jti, expires.ToUnixTimeSeconds());
        // Never throws (IClusterBus): a Redis outage must not turn a committed revocation into an error.
        await _bus.PublishAsync(Topic, $"{jti}|{expires.ToUnixTimeSeconds()}");
    }

    private const string SyncSql = """
        SELECT jti, expires_at, revoked_at FROM revoked_tokens
        WHERE expires_at > now() AND revoked_at >= @Since
        """;

    private async Task<DateTime> SyncAsync(CancellationToken ct)
    {
        // Re-read a margin before the last sync: rows committed late by slow transactions still arrive.
        var since = _readUpTo == DateTime.MinValue ? DateTime.UnixEpoch : _readUpTo.AddSeconds(-30);
        await using var conn = await _db.OpenAsync(ct);
        var rows = await conn.QueryAsync<(string Jti, DateTime ExpiresAt, DateTime RevokedAt)>(
            new CommandDefinition(SyncSql, new { Since = since }, cancellationToken: ct));
        var newest = _readUpTo;
        foreach (var (jti, expiresAt, revokedAt) in rows)
        {
            Hold(jti, new DateTimeOffset(expiresAt).ToUnixTimeSeconds());
            if (revokedAt > newest) newest = revokedAt;
        }
        Prune(_clock.GetUtcNow());
        _readUpTo = newest;
        return newest;
    }

    /// <summary>Holds a revocation until its token's exp (Unix seconds); one already past it is not held.</summary>
    private void Hold(string jti, long exp)
    {
        var now = _clock.GetUtcNow();
        if (exp <= now.ToUnixTimeSeconds()) return;
        _revoked[jti] = exp;
        var due = Interlocked.Read(ref _nextPruneTicks);
        if (now.UtcTicks >= due && Interlocked.CompareExchange(ref _nextPruneTicks, now.UtcTicks + SyncEvery.Ticks, due) == due) Prune(now);
    }

    /// <summary>Drops every entry whose token has expired on this node's clock.</summary>
    private void Prune(DateTimeOffset now)
    {
        var seconds = now.ToUnixTimeSeconds();
        foreach (var (jti, exp) in _revoked)
            if (exp <= seconds) _revoked.TryRemove(new KeyValuePair<string, long>(jti, exp));
    }
}
