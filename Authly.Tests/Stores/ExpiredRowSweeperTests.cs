using Authly.Configuration;
using Authly.Storage;
using Authly.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Authly.Tests.Stores;

/// <summary>
/// Issue 14, flat cost as data grows: <see cref="ExpiredRowSweeper"/> deletes every kind of expired row and
/// nothing a decision still needs, one node at a time, in batches. Rows are planted already expired on the
/// database clock (the one the sweeper reads), so no test waits for time to pass.
/// </summary>
[TestFixture, Category("Core")]
public sealed class ExpiredRowSweeperTests
{
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly AuthlyOptions Options = new() { DatabaseUrl = "" };
    private NpgsqlDataSource _db = null!;
    private string _cs = null!;
    private Guid _user;

    [SetUp]
    public async Task CreateDatabaseAsync()
    {
        _cs = await TestServers.CreateDatabaseAsync();
        _db = NpgsqlDataSource.Create(_cs);
        await using var conn = await _db.OpenConnectionAsync();
        _user = await conn.ExecuteScalarAsync<Guid>("INSERT INTO users (username, email, password_hash) VALUES ('sweep', 'sweep@example.test', 'x') RETURNING id");
    }

    [TearDown] public Task DisposeAsync() => _db.DisposeAsync().AsTask();

    private ExpiredRowSweeper Sweeper(int batchSize = 1000) =>
        new(_db, Options, TimeProvider.System, NullLogger<ExpiredRowSweeper>.Instance) { BatchSize = batchSize };

    private async Task<int> ExecAsync(string sql, object? args = null)
    {
        await using var conn = await _db.OpenConnectionAsync();
        return await conn.ExecuteAsync(sql, args);
    }

    private async Task<List<string>> NamesAsync(string sql)
    {
        await using var conn = await _db.OpenConnectionAsync();
        return (await conn.QueryAsync<string>(sql)).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>A refresh token row; times are SQL intervals from now() ("-1 hour"), rotatedAt null for a current token.</summary>
    private Task<int> RefreshRowAsync(Guid family, string name, string expires, string accessExpires, string? rotatedAt = null) => ExecAsync($"""
        INSERT INTO refresh_tokens (family_id, token_hash, user_id, scope, expires_at, access_jti, access_expires_at, rotated_at)
        VALUES (@Family, sha256(convert_to(@Name, 'UTF8')), @User, 'openid', now() + interval '{expires}', @Name, now() + interval '{accessExpires}',
                {(rotatedAt is null ? "NULL" : $"now() + interval '{rotatedAt}'")})
        """, new { Family = family, Name = name, User = _user });

    /// <summary>A family created <paramref name="createdAgo"/> ago (default: a month, beyond the refresh lifetime, as any family whose members all expired).</summary>
    private async Task<Guid> FamilyAsync(string name, string createdAgo = "30 days")
    {
        await using var conn = await _db.OpenConnectionAsync();
        return await conn.ExecuteScalarAsync<Guid>($"INSERT INTO refresh_token_families (user_id, client_id, created_at) VALUES (@User, @Name, now() - interval '{createdAgo}') RETURNING id",
            new { User = _user, Name = name });
    }

    private Task<int> CodeAsync(string name, string expires, bool used = false, string? accessExpires = null, Guid? family = null) => ExecAsync($"""
        INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, scope, code_challenge, auth_time, expires_at,
                                         consumed_at, family_id, access_jti, access_expires_at)
        VALUES (sha256(convert_to(@Name, 'UTF8')), @Name, @User, 'https://rp.example/cb', 'openid', 'c', now(), now() + interval '{expires}',
                {(used ? "now() - interval '2 hours'" : "NULL")}, @Family, {(accessExpires is null ? "NULL" : "@Name")},
                {(accessExpires is null ? "NULL" : $"now() + interval '{accessExpires}'")})
        """, new { Name = name, User = _user, Family = family });

    [Test, Description("Issue 14: every kind of expired row goes; the live ones of each kind stay")]
    public async Task SweepOnce_DeletesExpiredRowsOfEveryKind_KeepsLiveOnes()
    {
        await ExecAsync("INSERT INTO revoked_tokens (jti, expires_at) VALUES ('expired', now() - interval '1 second'), ('live', now() + interval '1 hour')");
        var dead = await FamilyAsync("dead");
        await RefreshRowAsync(dead, "dead-rotated", "-2 hours", "-2 hours", rotatedAt: "-3 hours");
        await RefreshRowAsync(dead, "dead-last", "-1 hour", "-1 hour");
        var live = await FamilyAsync("live");
        await RefreshRowAsync(live, "live-current", "7 days", "1 hour");
        await CodeAsync("unused-expired", "-2 minutes");
        await CodeAsync("unused-live", "1 minute");
        await CodeAsync("used-dead", "-1 hour", used: true, accessExpires: "-1 hour", family: dead);
        await ExecAsync("""
            INSERT INTO sessions (id_hash, sid, user_id, auth_time, idle_expires_at, absolute_expires_at) VALUES
                ('\x01', 'idle-ended', @User, now(), now() - interval '1 second', now() + interval '1 day'),
                ('\x02', 'absolute-ended', @User, now(), now() + interval '1 hour', now() - interval '1 second'),
                ('\x03', 'live', @User, now(), now() + interval '1 hour', now() + interval '1 day')
            """, new { User = _user });
        await ExecAsync("""
            INSERT INTO device_codes (device_code_hash, user_code, client_id, scope, expires_at, interval_seconds) VALUES
                ('\x01', 'expired', 'c', 'openid', now() - interval '1 second', 5),
                ('\x02', 'live', 'c', 'openid', now() + interval '10 minutes', 5)
            """);
        await ExecAsync("""
            INSERT INTO vault_connect_states (state_hash, user_id, provider_id, purpose, scope, nonce, redirect_uri, key_id, wrapped_key,
                                              code_verifier_encrypted, expires_at)
            SELECT s.hash, @User, p.id, s.name, 'openid', 'n', 'https://authly.example/cb', 'k', '\x00', '\x00', now() + s.expires
            FROM vault_providers p, (VALUES ('\x01'::bytea, 'expired', interval '-1 second'), ('\x02'::bytea, 'live', interval '10 minutes')) AS s(hash, name, expires)
            WHERE p.name = 'authly'
            """, new { User = _user });
        await ExecAsync("""
            INSERT INTO attempt_guards (key_hash, attempts, window_ends_at, locked_until) VALUES
                ('\x01', 3, now() - interval '1 second', NULL),
                ('\x02', 10, now() - interval '1 second', now() + interval '5 minutes'),
                ('\x03', 1, now() + interval '1 minute', NULL)
            """);
        await ExecAsync("""
            INSERT INTO pending_logins (id_hash, user_id, amr, must_enrol, expires_at)
            SELECT h, (SELECT user_id FROM sessions LIMIT 1), '{pwd}', false, now() + e FROM
                (VALUES ('\x01'::bytea, interval '-1 second'), ('\x02'::bytea, interval '10 minutes')) AS v(h, e)
            """);

        await ExecAsync("""
            INSERT INTO passkey_challenges (handle_hash, purpose, options, expires_at) VALUES
                ('\x01', 'expired', '{}', now() - interval '1 second'), ('\x02', 'live', '{}', now() + interval '5 minutes')
            """);
        // Back-channel logouts: finished (delivered or failed) more than a day ago go; a recent one and a pending one stay.
        await ExecAsync("""
            INSERT INTO backchannel_logouts (sid, client_id, user_id, created_at, delivered_at, failed_at) VALUES
                ('delivered-old', 'rp', @User, now() - interval '3 days', now() - interval '2 days', NULL),
                ('failed-old', 'rp', @User, now() - interval '3 days', NULL, now() - interval '25 hours'),
                ('delivered-recent', 'rp', @User, now() - interval '2 hours', now() - interval '1 hour', NULL),
                ('pending-old', 'rp', @User, now() - interval '3 days', NULL, NULL)
            """, new { User = _user });

        var deleted = await Sweeper().SweepOnceAsync(None);

        Assert.That(deleted, Is.EquivalentTo(new Dictionary<string, long>
        {
            ["backchannel_logouts"] = 2,
            ["revoked_tokens"] = 1, ["refresh_token_families"] = 1, ["authorization_codes"] = 2, ["sessions"] = 2,
            ["device_codes"] = 1, ["vault_connect_states"] = 1, ["passkey_challenges"] = 1, ["attempt_guards"] = 1,
            ["pending_logins"] = 1, ["dpop_proofs"] = 0, ["pushed_authorization_requests"] = 0, ["client_assertion_jtis"] = 0,
        }));
        Assert.That(await NamesAsync("SELECT jti FROM revoked_tokens"), Is.EqualTo(new[] { "live" }));
        Assert.That(await NamesAsync("SELECT client_id FROM refresh_token_families"), Is.EqualTo(new[] { "live" }));
        Assert.That(await NamesAsync("SELECT access_jti FROM refresh_tokens"), Is.EqualTo(new[] { "live-current" }), "a dead family's tokens go with it");
        Assert.That(await NamesAsync("SELECT client_id FROM authorization_codes"), Is.EqualTo(new[] { "unused-live" }));
        Assert.That(await NamesAsync("SELECT sid FROM sessions"), Is.EqualTo(new[] { "live" }));
        Assert.That(await NamesAsync("SELECT user_code FROM device_codes"), Is.EqualTo(new[] { "live" }));
        Assert.That(await NamesAsync("SELECT purpose FROM vault_connect_states"), Is.EqualTo(new[] { "live" }));
        Assert.That(await NamesAsync("SELECT purpose FROM passkey_challenges"), Is.EqualTo(new[] { "live" }));
        Assert.That(await NamesAsync("SELECT attempts::text FROM attempt_guards"), Is.EqualTo(new[] { "1", "10" }), "a running lock stays after its window");
        Assert.That(await NamesAsync("SELECT sid FROM backchannel_logouts"), Is.EqualTo(new[] { "delivered-recent", "pending-old" }),
            "a pending logout is the queue itself, however old; a finished one stays a day");
    }

    [Test, Description("Issue 18: finished back-channel logouts go in small batches: more than one batch all go in one round, the pending ones stay")]
    public async Task SweepOnce_FinishedBackchannelLogouts_DeletedInBatches()
    {
        await ExecAsync("""
            INSERT INTO backchannel_logouts (sid, client_id, user_id, delivered_at, failed_at)
            SELECT 'done-' || i, 'rp', @User, CASE WHEN i % 2 = 0 THEN now() - interval '2 days' END, CASE WHEN i % 2 = 1 THEN now() - interval '2 days' END
            FROM generate_series(1, 25) AS i
            UNION ALL SELECT 'pending', 'rp', @User, NULL, NULL
            """, new { User = _user });

        var deleted = await Sweeper(batchSize: 10).SweepOnceAsync(None);

        Assert.That(deleted!["backchannel_logouts"], Is.EqualTo(25));
        Assert.That(await NamesAsync("SELECT sid FROM backchannel_logouts"), Is.EqualTo(new[] { "pending" }));
    }

    [Test, Description("OAuth 2.1 §4.3.1, RFC 9700 §4.14.2: a rotated token's row is what detects its reuse, so it stays while its family lives; a family also stays while an access token issued from it lives (a family revocation must find its jti)")]
    public async Task SweepOnce_KeepsExpiredRowsOfAFamilyThatStillLives()
    {
        var rotating = await FamilyAsync("rotating");
        await RefreshRowAsync(rotating, "rotated-long-ago", "-1 hour", "-2 hours", rotatedAt: "-2 hours");
        await RefreshRowAsync(rotating, "current", "7 days", "1 hour");
        var accessLives = await FamilyAsync("access-lives");
        await RefreshRowAsync(accessLives, "expired-refresh", "-1 minute", "30 minutes");
        var justRotated = await FamilyAsync("just-rotated");
        await RefreshRowAsync(justRotated, "in-grace", "-1 second", "-1 second", rotatedAt: "-2 seconds");

        var deleted = await Sweeper().SweepOnceAsync(None);

        Assert.That(deleted!["refresh_token_families"], Is.Zero);
        Assert.That(await NamesAsync("SELECT access_jti FROM refresh_tokens"), Is.EqualTo(new[] { "current", "expired-refresh", "in-grace", "rotated-long-ago" }));
    }

    [Test, Description("RFC 6749 §4.1.2: a replayed code revokes what it issued, so a used code's row stays while that lives; an expired code stays a minute for a redemption still issuing")]
    public async Task SweepOnce_KeepsCodesAReplayStillNeeds()
    {
        var live = await FamilyAsync("live");
        await RefreshRowAsync(live, "live-current", "7 days", "-1 minute");
        await CodeAsync("access-token-lives", "-1 hour", used: true, accessExpires: "30 minutes");
        await CodeAsync("family-lives", "-1 hour", used: true, accessExpires: "-1 minute", family: live);
        await CodeAsync("just-expired", "-10 seconds");

        var deleted = await Sweeper().SweepOnceAsync(None);

        Assert.That(deleted!["authorization_codes"], Is.Zero);
        Assert.That(await NamesAsync("SELECT client_id FROM authorization_codes"), Has.Count.EqualTo(3));
    }

    [Test, Description("Issue 14: small batches: more rows than one batch all go in one round, a batch per statement")]
    public async Task SweepOnce_WithMoreRowsThanABatch_DeletesThemAllInBatches()
    {
        await ExecAsync("""
            INSERT INTO revoked_tokens (jti, expires_at)
            SELECT 'old-' || i, now() - interval '1 minute' FROM generate_series(1, 2500) AS i
            UNION ALL SELECT 'live', now() + interval '1 hour'
            """);

        var deleted = await Sweeper(batchSize: 1000).SweepOnceAsync(None);

        Assert.That(deleted!["revoked_tokens"], Is.EqualTo(2500));
        Assert.That(await NamesAsync("SELECT jti FROM revoked_tokens"), Is.EqualTo(new[] { "live" }));
    }

    [Test, Description("Issue 14: one node at a time: while another node holds the round's advisory lock, this node deletes nothing")]
    public async Task SweepOnce_WhileAnotherNodeHoldsTheLock_SkipsTheRound()
    {
        await ExecAsync("INSERT INTO revoked_tokens (jti, expires_at) VALUES ('expired', now() - interval '1 second')");
        await using (var otherNode = await _db.OpenConnectionAsync())
        {
            Assert.That(await otherNode.ExecuteScalarAsync<bool>("SELECT pg_try_advisory_lock(@Key)", new { Key = ExpiredRowSweeper.AdvisoryLockKey }), Is.True);

            Assert.That(await Sweeper().SweepOnceAsync(None), Is.Null, "the round is skipped");
            Assert.That(await NamesAsync("SELECT jti FROM revoked_tokens"), Has.Count.EqualTo(1));
            // A session-level lock outlives the pooled connection's Close; the other node's round ends by unlocking.
            await otherNode.ExecuteAsync("SELECT pg_advisory_unlock(@Key)", new { Key = ExpiredRowSweeper.AdvisoryLockKey });
        }

        Assert.That((await Sweeper().SweepOnceAsync(None))!["revoked_tokens"], Is.EqualTo(1), "once the other node's round ends, the next round here works");
    }

    [Test, Description("Issue 14: two nodes sweeping at once never both work in one round; together they delete each row once")]
    public async Task SweepOnce_OnTwoNodesAtOnce_OneWorksPerRound()
    {
        await ExecAsync("INSERT INTO revoked_tokens (jti, expires_at) SELECT 'old-' || i, now() - interval '1 minute' FROM generate_series(1, 3000) AS i");
        await using var dbB = NpgsqlDataSource.Create(_cs);
        var nodeA = Sweeper(batchSize: 100);
        var nodeB = new ExpiredRowSweeper(dbB, Options, TimeProvider.System, NullLogger<ExpiredRowSweeper>.Instance) { BatchSize = 100 };
        // Node B holds the lock while node A offers a round: A skips, then B works alone.
        await using (var conn = await dbB.OpenConnectionAsync())
        {
            await conn.ExecuteAsync("SELECT pg_advisory_lock(@Key)", new { Key = ExpiredRowSweeper.AdvisoryLockKey });
            var racing = nodeA.SweepOnceAsync(None);
            Assert.That(await racing, Is.Null);
            await conn.ExecuteAsync("SELECT pg_advisory_unlock(@Key)", new { Key = ExpiredRowSweeper.AdvisoryLockKey });
        }
        var rounds = await Task.WhenAll(nodeA.SweepOnceAsync(None), nodeB.SweepOnceAsync(None));

        Assert.That(rounds.Where(r => r is not null).Sum(r => r!["revoked_tokens"]), Is.EqualTo(3000), "every row deleted once");
        Assert.That(await NamesAsync("SELECT jti FROM revoked_tokens"), Is.Empty);
    }

    [Test, Description("Issue 14: a round that fails (PostgreSQL unreachable) throws to the loop, which logs it once and keeps running")]
    public async Task RunAsync_WhenTheDatabaseIsUnreachable_LogsOnceAndKeepsRunning()
    {
        // A port nothing listens on: every round fails at once.
        var builder = new NpgsqlConnectionStringBuilder(_db.ConnectionString) { Port = 1, Timeout = 1 };
        await using var down = NpgsqlDataSource.Create(builder.ConnectionString);
        var log = new ListLogger<ExpiredRowSweeper>();
        var sweeper = new ExpiredRowSweeper(down, new AuthlyOptions { DatabaseUrl = "", SweepIntervalSeconds = 1 }, TimeProvider.System, log);
        Assert.ThrowsAsync<NpgsqlException>(() => sweeper.SweepOnceAsync(None));

        using var stop = new CancellationTokenSource();
        var loop = sweeper.RunAsync(stop.Token);
        // Every later failed round says so only at Debug level; wait (polling) for three rounds in all.
        Assert.That(await Eventually.TrueAsync(() => Task.FromResult(log.Inner.Entries.Count >= 3), TimeSpan.FromSeconds(15)), Is.True, "rounds keep coming");
        Assert.That(log.Inner.Entries.Count(e => e.Level >= LogLevel.Warning), Is.EqualTo(1), "one warning per outage, not one per round");
        Assert.That(loop.IsCompleted, Is.False, "a failed round never ends the loop");
        stop.Cancel();
        await loop;
    }

    private sealed class ListLogger<T> : ILogger<T>
    {
        public ListLogger Inner { get; } = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
