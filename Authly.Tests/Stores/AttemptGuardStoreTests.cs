using System.Security.Cryptography;
using System.Text;
using Authly.Configuration;
using Authly.Counters;
using Authly.Storage;
using Authly.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Dapper;
using Npgsql;

namespace Authly.Tests.Stores;

/// <summary>
/// AttemptGuardStore: the attempt budgets of guess-able secrets in PostgreSQL, on the database
/// clock: reserved up to a limit then locked, release, reset, shared by every node.
/// </summary>
[TestFixture, Category("Core")]
public sealed class AttemptGuardStoreTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);
    private static readonly CancellationToken None = CancellationToken.None;
    private static readonly AuthlyOptions TestOptions = new() { DatabaseUrl = "" };
    private NpgsqlDataSource _db = null!;
    private AttemptGuardStore _store = null!;

    [SetUp]
    public async Task CreateDatabaseAsync()
    {
        _db = NpgsqlDataSource.Create(await TestServers.CreateDatabaseAsync());
        _store = new AttemptGuardStore(_db, TestOptions);
    }

    [TearDown] public Task DisposeAsync() => _db.DisposeAsync().AsTask();

    private Task<(int Index, TimeSpan LockedFor)?> ReserveAsync(string key, int max, TimeSpan lockFor) => _store.ReserveAsync([(key, max)], lockFor, None);

    /// <summary>Waits, polling, until <paramref name="period"/> has passed on the database's clock (the one the store reads).</summary>
    private async Task PassOnTheDatabaseClockAsync(TimeSpan period)
    {
        await using var conn = await _db.OpenConnectionAsync();
        var then = await conn.ExecuteScalarAsync<DateTime>("SELECT clock_timestamp() + @Period", new { Period = period });
        Assert.That(await Eventually.TrueAsync(async () => await conn.ExecuteScalarAsync<bool>("SELECT clock_timestamp() > @Then", new { Then = then }),
            period + TimeSpan.FromSeconds(5)), Is.True);
    }

    [Test, Description("RFC 6749 §10.10: reserved before the check, so concurrent attempts never exceed the limit")]
    public async Task Reserve_Concurrently_AdmitsExactlyTheLimitAndThenRefuses()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(() => _store.ReserveAsync([("login:alice", 10), ("login-ip:192.0.2.1", 100)], Window, None))));
        Assert.That(results.Count(r => r is null), Is.EqualTo(10));
        Assert.That(results.Where(r => r is not null).Select(r => r!.Value.Index), Is.All.EqualTo(0));
        Assert.That(results.Where(r => r is not null).Select(r => r!.Value.LockedFor), Is.All.GreaterThan(TimeSpan.Zero).And.LessThanOrEqualTo(Window));
    }

    [Test, Description("Issue12_Finding2: the budget is cluster-wide: two nodes (two stores on one database) share it")]
    public async Task Issue12_Finding2_Reserve_FromTwoNodesConcurrently_AdmitsTheLimitInTotal()
    {
        var other = new AttemptGuardStore(_db, TestOptions);
        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() =>
            (i % 2 == 0 ? _store : other).ReserveAsync([("login:alice", 10)], Window, None))));
        Assert.That(results.Count(r => r is null), Is.EqualTo(10));
    }

    [Test]
    public async Task Reserve_TwoKeys_RefusedByEitherAndCountsNothingWhenRefused()
    {
        Assert.That(await _store.ReserveAsync([("login:alice", 5), ("ip:1", 2)], Window, None), Is.Null);
        Assert.That(await _store.ReserveAsync([("login:bob", 5), ("ip:1", 2)], Window, None), Is.Null, "the second attempt from ip:1 still runs");
        var refused = await _store.ReserveAsync([("login:carol", 5), ("ip:1", 2)], Window, None);
        Assert.That(refused?.Index, Is.EqualTo(1), "refused by the address");
        // carol was not counted: five more reservations from elsewhere all run.
        for (var i = 0; i < 4; i++) Assert.That(await _store.ReserveAsync([("login:carol", 5), ($"ip:x{i}", 2)], Window, None), Is.Null);
    }

    [Test]
    public void Reserve_TheSameKeyTwiceInOneCall_IsRefusedAsAProgrammingError() =>
        Assert.ThrowsAsync<ArgumentException>(() => _store.ReserveAsync([("ip:1", 2), ("ip:1", 2)], Window, None));

    [Test]
    public async Task Release_GivesTheAttemptBackAndLiftsTheLock_ResetForgetsAll()
    {
        Assert.That(await ReserveAsync("ip:1", 2, Window), Is.Null);
        Assert.That(await ReserveAsync("ip:1", 2, Window), Is.Null);
        Assert.That(await ReserveAsync("ip:1", 2, Window), Is.Not.Null, "locked at the limit");
        await _store.ReleaseAsync("ip:1", 2, None);
        Assert.That(await ReserveAsync("ip:1", 2, Window), Is.Null, "one attempt given back");
        Assert.That(await ReserveAsync("ip:1", 2, Window), Is.Not.Null);
        await _store.ResetAsync("ip:1", None);
        Assert.That(await ReserveAsync("ip:1", 2, Window), Is.Null);
    }

    [Test]
    public async Task Reserve_BelowTheMaximum_DoesNotLock()
    {
        Assert.That(await ReserveAsync("login:alice", 3, Window), Is.Null);
        Assert.That(await ReserveAsync("login:alice", 3, Window), Is.Null);
        Assert.That(await ReserveAsync("login:alice", 3, Window), Is.Null, "the attempt that reaches the maximum still runs");
        Assert.That(await ReserveAsync("login:bob", 3, Window), Is.Null, "other keys are not locked");
    }

    [Test]
    public async Task Reserve_WhileLocked_ReturnsTheRemainingLockWithoutExtendingIt()
    {
        Assert.That(await ReserveAsync("login:alice", 1, Window), Is.Null);
        var first = await ReserveAsync("login:alice", 1, Window);
        var again = await ReserveAsync("login:alice", 1, Window);
        Assert.That(first?.LockedFor, Is.GreaterThan(TimeSpan.Zero).And.LessThanOrEqualTo(Window));
        Assert.That(again?.LockedFor, Is.LessThanOrEqualTo(first!.Value.LockedFor));
    }

    [Test]
    public async Task Lock_EndsAfterTheLockTime()
    {
        await ReserveAsync("login:alice", 1, Short);
        Assert.That(await ReserveAsync("login:alice", 1, Short), Is.Not.Null);
        await PassOnTheDatabaseClockAsync(Short);
        Assert.That(await ReserveAsync("login:alice", 1, Short), Is.Null);
    }

    [Test]
    public async Task Reset_ClearsTheLockAndTheCount()
    {
        for (var i = 0; i < 3; i++) await ReserveAsync("login:alice", 3, Window);
        Assert.That(await ReserveAsync("login:alice", 3, Window), Is.Not.Null);

        await _store.ResetAsync("login:alice", None);

        Assert.That(await ReserveAsync("login:alice", 3, Window), Is.Null, "counting starts again from zero");
        Assert.That(await ReserveAsync("login:alice", 3, Window), Is.Null);
        Assert.That(await ReserveAsync("login:alice", 3, Window), Is.Null);
        Assert.That(await ReserveAsync("login:alice", 3, Window), Is.Not.Null);
    }

    [Test]
    public async Task Attempts_OlderThanTheLockTime_AreForgotten()
    {
        await ReserveAsync("login:alice", 3, Short);
        await ReserveAsync("login:alice", 3, Short);
        await PassOnTheDatabaseClockAsync(Short);

        Assert.That(await ReserveAsync("login:alice", 3, Short), Is.Null);
        Assert.That(await ReserveAsync("login:alice", 3, Short), Is.Null, "two attempts in the new window do not reach three");
    }

    [Test, Description("A username field sometimes receives a password: the table keeps keyed digests of the guarded names, never the names nor a plain hash of them")]
    public async Task Keys_AreStoredAsKeyedDigestsOnly()
    {
        const string typedPassword = "login:Correct-Horse-Battery-Staple";
        await ReserveAsync(typedPassword, 3, Window);
        await using var conn = await _db.OpenConnectionAsync();
        var stored = (await conn.QueryAsync<byte[]>("SELECT key_hash FROM attempt_guards")).ToList();
        Assert.That(stored, Has.Count.EqualTo(1));
        Assert.That(stored[0], Has.Length.EqualTo(32));
        Assert.That(stored[0], Is.Not.EqualTo(SHA256.HashData(Encoding.UTF8.GetBytes(typedPassword))), "a plain digest is a dictionary lookup away");
        // The same name under the same secret is the same key on every node (the other tests show the counting).
        await ReserveAsync(typedPassword, 3, Window);
        Assert.That(await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM attempt_guards"), Is.EqualTo(1));
    }

    [Test, Description("Rows whose window and lock ended are swept (Storage/ExpiredRowSweeper), live ones and locks stay")]
    public async Task Sweep_RemovesRowsWhoseWindowAndLockEnded_KeepsTheRest()
    {
        await _store.ReserveAsync([("old", 5)], Short, None);
        await _store.ReserveAsync([("locked", 1)], Window, None);
        await PassOnTheDatabaseClockAsync(Short);
        await _store.ReserveAsync([("live", 5)], Window, None);
        Assert.That(await CountRowsAsync(), Is.EqualTo(3));

        var sweeper = new ExpiredRowSweeper(_db, TestOptions, TimeProvider.System, NullLogger<ExpiredRowSweeper>.Instance);
        await sweeper.SweepOnceAsync(None);

        Assert.That(await CountRowsAsync(), Is.EqualTo(2), "'old' is gone, 'locked' and 'live' stay");
        Assert.That(await _store.ReserveAsync([("locked", 1)], Window, None), Is.Not.Null);
    }

    private async Task<long> CountRowsAsync()
    {
        await using var conn = await _db.OpenConnectionAsync();
        return await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM attempt_guards");
    }
}
