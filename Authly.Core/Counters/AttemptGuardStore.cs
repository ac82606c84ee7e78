using Authly.Storage;
using System.Security.Cryptography;
using System.Text;
using Authly.Configuration;
using Dapper;
using Npgsql;

namespace Authly.Counters;

/// <summary>
/// The attempt budgets of guess-able secrets (passwords, device user codes), kept in PostgreSQL on
/// the database clock. Never in Redis with an in-process fallback: while Redis was down that
/// fallback started empty (a locked user signed in), counted per node, and forgot on recovery the
/// locks it had taken (issue 12 finding 2). Here a lock holds through any Redis outage and on every
/// node; if PostgreSQL itself is down, the password check could not run either, so the error
/// propagates (a 503, never a guess let through). One reserve is one short transaction whose row
/// locks are taken in key order, so concurrent reserves on the same keys serialize without deadlock.
/// Rows whose window and lock have ended are deleted by <see cref="ExpiredRowSweeper"/>.
/// </summary>
public sealed class AttemptGuardStore(NpgsqlDataSource db, AuthlyOptions options)
{
    // HMAC key for the stored keys, derived from JWT_SECRET_KEY (see Hash).
    private readonly byte[] _keyKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(options.JwtSecretKey), 32,
        salt: Encoding.UTF8.GetBytes("authly-attempt-guards-v1"), info: "attempt_guards.key_hash"u8.ToArray());

    // Rows for keys seen for the first time, then a row lock on each key, in key order (the
    // no-op DO UPDATE takes the lock and returns the row as the previous holder committed it).
    // A new row's window has already ended, so the update below starts it at one attempt. Times
    // after the lock are read with clock_timestamp()/statement_timestamp(), not now(): now() is when
    // the transaction began, possibly long before this reserve's turn came in the lock queue.
    private const string LockSql = """
        INSERT INTO attempt_guards AS g (key_hash, attempts, window_ends_at)
        SELECT k, 0, now() FROM unnest(@Keys) AS k ORDER BY k
        ON CONFLICT (key_hash) DO UPDATE SET attempts = g.attempts
        RETURNING g.key_hash AS KeyHash,
                  COALESCE(EXTRACT(EPOCH FROM (g.locked_until - clock_timestamp()))::float8, 0) AS LockedSeconds
        """;

    // Counts one attempt on every key: a fresh window when the last one ended, and a lock for
    // @LockFor on a key whose count reaches its maximum (that attempt still runs).
    private const string CountSql = """
        UPDATE attempt_guards g SET
            attempts = CASE WHEN g.window_ends_at <= statement_timestamp() THEN 1 ELSE g.attempts + 1 END,
            window_ends_at = CASE WHEN g.window_ends_at <= statement_timestamp() THEN statement_timestamp() + @LockFor ELSE g.window_ends_at END,
            locked_until = CASE WHEN (CASE WHEN g.window_ends_at <= statement_timestamp() THEN 1 ELSE g.attempts + 1 END) >= k.max
                                THEN statement_timestamp() + @LockFor ELSE g.locked_until END
        FROM unnest(@Keys, @Maxes) AS k(key_hash, max)
        WHERE g.key_hash = k.key_hash
        """;

    /// <summary>
    /// Reserves one attempt on every key at once, before the slow check it guards (RFC 6749 §10.10:
    /// counted first, so concurrent attempts cannot all pass a check-then-count). While any key is
    /// locked the attempt is refused and nothing is counted: the answer is that key's index and how
    /// long its lock lasts. Otherwise each key counts one more attempt within <paramref name="lockFor"/>,
    /// and a key whose count reaches its limit is locked for <paramref name="lockFor"/> (this attempt
    /// still runs, so at most <c>Max</c> attempts are ever evaluated). Null when reserved.
    /// </summary>
    public async Task<(int Index, TimeSpan LockedFor)?> ReserveAsync(IReadOnlyList<(string Key, int Max)> keys, TimeSpan lockFor, CancellationToken ct)
    {
        var hashes = keys.Select(k => Hash(k.Key)).ToArray();
        if (hashes.Select(Convert.ToHexString).Distinct().Count() != hashes.Length)
            throw new ArgumentException("each key may be reserved once per call", nameof(keys));

        (int Index, TimeSpan LockedFor)? refusal = null;
        await using (var conn = await db.OpenAsync(ct))
        await using (var tx = await conn.BeginTransactionAsync(ct))
        {
            var rows = await conn.QueryAsync<(byte[] KeyHash, double LockedSeconds)>(
                new CommandDefinition(LockSql, new { Keys = hashes }, tx, cancellationToken: ct));
            foreach (var row in rows)
            {
                if (row.LockedSeconds <= 0 || row.LockedSeconds <= refusal?.LockedFor.TotalSeconds) continue;
                var index = Array.FindIndex(hashes, h => h.AsSpan().SequenceEqual(row.KeyHash));
                refusal = (index, TimeSpan.FromSeconds(row.LockedSeconds));
            }
            if (refusal is null)
                await conn.ExecuteAsync(new CommandDefinition(CountSql,
                    new { Keys = hashes, Maxes = keys.Select(k => k.Max).ToArray(), LockFor = lockFor }, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
        }
        return refusal;
    }

    // A lock outlives the window it was taken in (it runs for @LockFor from the attempt that reached the limit), so
    // once the window has ended the attempt given back cannot be told from the ones that took the lock: the count
    // starts over, the lock stays. Lifting it there let a good login that finished late clear a lock its own
    // address's guesses had earned.
    private const string ReleaseSql = """
        UPDATE attempt_guards SET
            attempts = CASE WHEN window_ends_at > now() THEN GREATEST(attempts - 1, 0) ELSE 0 END,
            locked_until = CASE WHEN window_ends_at > now() AND GREATEST(attempts - 1, 0) < @Max
                                THEN NULL ELSE locked_until END
        WHERE key_hash = @Key
        """;

    /// <summary>
    /// Gives one reserved attempt back (it succeeded and should not count): within the window the count goes down by
    /// one, and the lock goes once it is under <paramref name="max"/>; after the window the count starts over and a
    /// running lock stays.
    /// </summary>
    public async Task ReleaseAsync(string key, int max, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(ReleaseSql, new { Key = Hash(key), Max = max }, cancellationToken: ct));
    }

    private const string ResetSql = "DELETE FROM attempt_guards WHERE key_hash = @Key";

    /// <summary>Forgets failures and any lock (after a successful login, or an admin unlock).</summary>
    public async Task ResetAsync(string key, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(ResetSql, new { Key = Hash(key) }, cancellationToken: ct));
    }

    /// <summary>
    /// The stored key: a keyed digest (HMAC-SHA256 under a key derived from JWT_SECRET_KEY), because a "username" is
    /// sometimes a mistyped password and a key may be a client address. A plain SHA-256 of such low-entropy text is a
    /// dictionary lookup away from the text itself for anyone holding a copy of the table.
    /// </summary>
    private byte[] Hash(string key) => HMACSHA256.HashData(_keyKey, Encoding.UTF8.GetBytes(key));
}
