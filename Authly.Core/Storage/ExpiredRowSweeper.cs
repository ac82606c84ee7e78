using Authly.Configuration;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Authly.Storage;

/// <summary>
/// Deletes rows nothing can use any more, so the cost of every path stays flat as the tables age (issue 14).
/// Every node runs the loop (<see cref="RunAsync"/>, every AUTHLY_SWEEP_INTERVAL_SECONDS); each round first takes
/// a PostgreSQL advisory lock, so one node at a time does the work and the others skip that round. Rows go in
/// batches of <see cref="BatchSize"/> (one short statement each, SKIP LOCKED, so no request ever waits for the
/// sweeper) until a table has nothing left or the round's budget is spent. Every expiry is read on the database
/// clock (<c>now()</c>), the one the stores decide with. A round that fails (an outage) is logged once and tried
/// again next round; it never stops the node.
/// <para>What goes, and why not sooner:</para>
/// <list type="bullet">
/// <item><c>revoked_tokens</c> past <c>expires_at</c>: the token is refused by its lifetime anyway.</item>
/// <item><c>refresh_token_families</c> (their <c>refresh_tokens</c> go with them) once no member is unexpired,
/// no access token issued from it is unexpired, and no rotation is within the retry grace: until then a rotated
/// member's row is what detects its reuse, and a family revocation needs the access tokens' ids. Only families created
/// more than the refresh-token lifetime ago are examined (index <c>refresh_token_families_created</c>): a younger one
/// still has its first member unexpired, so the anti-join need not visit the live bulk of the table every round
/// (a raised REFRESH_TOKEN_EXPIRE_DAYS delays deleting older families by as much; a lowered one changes nothing).</item>
/// <item><c>authorization_codes</c> a minute past <c>expires_at</c> (a redemption may still be issuing) and once
/// nothing issued from the code is alive: replaying a used code revokes what it issued for as long as that lives.</item>
/// <item><c>sessions</c> past their idle or absolute expiry, <c>device_codes</c> and <c>vault_connect_states</c> past
/// <c>expires_at</c>, <c>passkey_challenges</c> past theirs, <c>pushed_authorization_requests</c> and <c>client_assertion_jtis</c> past <c>expires_at</c>, <c>attempt_guards</c> whose window and lock have both ended.</item>
/// <item><c>backchannel_logouts</c> delivered or failed more than a day ago: the queue needs only rows still to deliver; a
/// finished one is kept a day for the operator to look at.</item>
/// </list>
/// </summary>
public sealed class ExpiredRowSweeper(NpgsqlDataSource db, AuthlyOptions options, TimeProvider clock, ILogger<ExpiredRowSweeper> log)
{
    // Any fixed 64-bit number, the same on every node, and not the Migrator's.
    internal const long AdvisoryLockKey = 0x417574686C795357;
    /// <summary>How long one round may keep starting batches.</summary>
    private static readonly TimeSpan RoundBudget = TimeSpan.FromSeconds(20);

    /// <summary>Rows per DELETE statement.</summary>
    public int BatchSize { get; init; } = 1000;

    /// <summary>(table, rows deleted) after each round that deleted rows from that table.</summary>
    public event Action<string, long>? Swept;

    /// <summary>When this node last finished a round in which it held the lock.</summary>
    public DateTimeOffset? LastRun { get; private set; }

    // `key = ANY(ARRAY(SELECT … LIMIT n))`, not `key IN (SELECT … LIMIT n)`: the array is computed first (an InitPlan)
    // and the DELETE then visits those n rows through the primary key. With IN the planner may join instead, and at
    // 1M rows in revoked_tokens it chose a scan of the whole table for every 1,000-row batch (600 ms; bench/README.md).
    private static readonly (string Table, string Sql)[] Sweeps =
    [
        ("revoked_tokens", """
            DELETE FROM revoked_tokens WHERE jti = ANY(ARRAY(
                SELECT jti FROM revoked_tokens WHERE expires_at < now() LIMIT @Batch FOR UPDATE SKIP LOCKED))
            """),
        ("refresh_token_families", """
            DELETE FROM refresh_token_families WHERE id = ANY(ARRAY(
                SELECT f.id FROM refresh_token_families f
                WHERE f.created_at < now() - @Lifetime
                  AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.id
                    AND (t.expires_at >= now() OR t.access_expires_at >= now() OR t.rotated_at >= now() - @Grace))
                LIMIT @Batch FOR UPDATE OF f SKIP LOCKED))
            """),
        ("authorization_codes", """
            DELETE FROM authorization_codes WHERE code_hash = ANY(ARRAY(
                SELECT c.code_hash FROM authorization_codes c
                WHERE c.expires_at < now() - interval '1 minute'
                  AND (c.access_expires_at IS NULL OR c.access_expires_at < now())
                  AND (c.family_id IS NULL OR NOT EXISTS (SELECT 1 FROM refresh_tokens t
                       WHERE t.family_id = c.family_id AND (t.expires_at >= now() OR t.access_expires_at >= now())))
                LIMIT @Batch FOR UPDATE OF c SKIP LOCKED))
            """),
        ("sessions", """
            DELETE FROM sessions WHERE id_hash = ANY(ARRAY(
                SELECT id_hash FROM sessions WHERE LEAST(idle_expires_at, absolute_expires_at) < now() LIMIT @Batch FOR UPDATE SKIP LOCKED))
            """),
        ("device_codes", """
            DELETE FROM device_codes WHERE device_code_hash = ANY(ARRAY(
                SELECT device_code_hash FROM device_codes WHERE expires_at < now() LIMIT @Batch FOR UPDATE SKIP LOCKED))
            """),
        ("pending_logins", """
            DELETE FROM pending_logins WHERE id_hash = ANY(ARRAY(
                SELECT id_hash FROM pending_logins WHERE expires_at < now() LIMIT @Batch FOR UPDATE SKIP LOCKED))
            """),
        ("vault_connect_states", """
            DELETE FROM vault_connect_states WHERE state_hash = ANY(ARRAY(
                SELECT state_hash FROM vault_connect_states WHERE expires_at < now() LIMIT @Batch FOR UPDATE SKIP LOCKED))
            """),
        ("passkey_challenges", """
            DELETE FROM passkey_challenges WHERE handle_hash = ANY(ARRAY(
                SELECT handle_hash FROM passkey_challenges WHERE expires_at < now() LIMIT @Batch FOR UPDATE SKIP LOCKED))
            """),
        // Issue 17: a pushed request (RFC 9126) once it can no longer be used, a client assertion's jti once the assertion expired.
        ("pushed_authorization_requests", """
            DELETE FROM pushed_authorization_requests WHERE request_hash = ANY(ARRAY(
                SELECT request_hash FROM pushed_authorization_requests WHERE expires_at < now() LIMIT @Batch FOR UPDATE SKIP LOCKED))
            """),
        ("client_assertion_jtis", """
            DELETE FROM client_assertion_jtis WHERE (client_id, jti_hash) IN (
                SELECT client_id, jti_hash FROM client_assertion_jtis WHERE expires_at < now() LIMIT @Batch FOR UPDATE SKIP LOCKED)
            """),
        ("dpop_proofs", """
            DELETE FROM dpop_proofs WHERE proof_hash = ANY(ARRAY(
                SELECT proof_hash FROM dpop_proofs WHERE expires_at < now() LIMIT @Batch FOR UPDATE SKIP LOCKED))
            """),
        // Issue 18: a back-channel logout a day after it was delivered or given up (OIDC Back-Channel Logout 1.0 §2.5);
        // a pending row is the queue itself and never goes. Index backchannel_logouts_finished (sql/0019).
        ("backchannel_logouts", """
            DELETE FROM backchannel_logouts WHERE (sid, client_id) IN (
                SELECT sid, client_id FROM backchannel_logouts
                WHERE (delivered_at IS NOT NULL OR failed_at IS NOT NULL) AND COALESCE(delivered_at, failed_at) < now() - interval '1 day' LIMIT @Batch FOR UPDATE SKIP LOCKED)
            """),
        // GREATEST ignores a NULL lock; SKIP LOCKED: a row a reserve holds is never waited for (nor deadlocked on).
        ("attempt_guards", """
            DELETE FROM attempt_guards WHERE key_hash = ANY(ARRAY(
                SELECT key_hash FROM attempt_guards WHERE GREATEST(window_ends_at, locked_until) < now() LIMIT @Batch FOR UPDATE SKIP LOCKED))
            """),
    ];

    /// <summary>The tables swept, as the metric labels them.</summary>
    public static IReadOnlyList<string> Tables { get; } = Sweeps.Select(s => s.Table).ToArray();

    /// <summary>
    /// One round: the rows deleted per table, or null when another node holds the lock (this node does nothing).
    /// Throws when the database fails; the loop logs that and tries again next round.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>?> SweepOnceAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        if (!await conn.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT pg_try_advisory_lock(@Key)", new { Key = AdvisoryLockKey }, cancellationToken: ct)))
            return null;
        var deleted = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            var budgetEnds = clock.GetUtcNow() + RoundBudget;
            foreach (var (table, sql) in Sweeps)
            {
                long total = 0;
                while (true)
                {
                    var rows = await conn.ExecuteAsync(new CommandDefinition(sql, new { Batch = BatchSize, Grace = options.RefreshRetryGrace, Lifetime = options.RefreshTokenLifetime }, cancellationToken: ct));
                    total += rows;
                    if (rows < BatchSize || clock.GetUtcNow() >= budgetEnds) break;
                }
                deleted[table] = total;
            }
        }
        finally
        {
            // A broken connection has lost the lock with its session; a pooled one must not keep it.
            if (conn.State == System.Data.ConnectionState.Open)
                await conn.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_unlock(@Key)", new { Key = AdvisoryLockKey }, cancellationToken: CancellationToken.None));
        }
        LastRun = clock.GetUtcNow();
        foreach (var (table, rows) in deleted)
            if (rows > 0) Swept?.Invoke(table, rows);
        return deleted;
    }

    /// <summary>The loop every node runs until <paramref name="stop"/>: a round every interval, none when the interval is 0.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        if (options.SweepIntervalSeconds == 0) return;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.SweepIntervalSeconds), clock);
        var failing = false;
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    await SweepOnceAsync(stop);
                    if (failing) log.LogInformation("Expired-row sweep works again");
                    failing = false;
                }
                catch (Exception e) when (!stop.IsCancellationRequested)
                {
                    // Said once per failing stretch: during an outage every round fails the same way.
                    if (!failing) log.LogWarning(e, "Expired-row sweep failed; trying again every {Seconds} s", options.SweepIntervalSeconds);
                    else log.LogDebug("Expired-row sweep still failing: {Error}", e.Message);
                    failing = true;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
    }
}
