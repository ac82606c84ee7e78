using Authly.Authorization;
using Authly.Configuration;
using Authly.Counters;
using Authly.OAuth;
using Dapper;
using Npgsql;

namespace Authly.Tests.Stores;

/// <summary>RFC 8628 §5.1 and §6.1: the user code's entropy and the lookup budget that, together, make guessing a live code unlikely.</summary>
[TestFixture, Category("Core"), Category("RFC8628")]
public sealed class UserCodeAttemptsTests
{
    private NpgsqlDataSource _db = null!;
    private static readonly AuthlyOptions TestOptions = new() { DatabaseUrl = "" };

    [SetUp] public async Task CreateDatabaseAsync() => _db = NpgsqlDataSource.Create(await TestServers.CreateDatabaseAsync());
    [TearDown] public Task DisposeAsync() => _db.DisposeAsync().AsTask();

    private static readonly double CodeSpace = Math.Pow(DeviceAuthorization.UserCodeAlphabet.Length, DeviceAuthorization.UserCodeLength);

    /// <summary>Budgets (a window from the first lookup, then a lock as long): a code's lifetime overlaps at most this many of them.</summary>
    private static int WindowsPerLifetime => (int)Math.Ceiling(DeviceAuthorization.Lifetime / UserCodeAttempts.Window) + 1;

    [Test, Description("RFC 8628 §6.1: 8 characters from 20 consonants (no vowels, so no words), 20^8 ≈ 2^34.6")]
    public void Rfc8628Section6_1_UserCodeAlphabet_IsTwentyDistinctConsonantsAndCodesHaveOver34Bits()
    {
        var alphabet = DeviceAuthorization.UserCodeAlphabet;
        Assert.Multiple(() =>
        {
            Assert.That(alphabet.Distinct().Count(), Is.EqualTo(20));
            Assert.That(alphabet.Intersect("AEIOUY"), Is.Empty);
            Assert.That(alphabet.All(char.IsAsciiLetterUpper), Is.True);
            Assert.That(DeviceAuthorization.UserCodeLength, Is.EqualTo(8));
            Assert.That(Math.Log2(CodeSpace), Is.GreaterThan(34.5));
        });
    }

    [Test, Description("RFC 8628 §5.1: with 10,000 codes pending at once, the guesses one account or one IP gets during a code's lifetime hit any of them with probability < 10^-5 and < 10^-4")]
    public void Rfc8628Section5_1_GuessesDuringOneCodeLifetime_HitAnyOf10000LiveCodesRarely()
    {
        const double liveCodes = 10_000;
        var perAccount = WindowsPerLifetime * UserCodeAttempts.PerAccount * liveCodes / CodeSpace;
        var perAddress = WindowsPerLifetime * UserCodeAttempts.PerAddress * liveCodes / CodeSpace;
        Assert.Multiple(() =>
        {
            Assert.That(WindowsPerLifetime, Is.EqualTo(2));
            Assert.That(perAccount, Is.LessThan(1e-5), "per account (all its sessions) per code lifetime");
            Assert.That(perAddress, Is.LessThan(1e-4), "per IP per code lifetime");
        });
    }

    [Test, Description("RFC 8628 §5.1: past the account's budget every lookup is a 429 with Retry-After within the window, from any IP")]
    public async Task Reserve_OverTheAccountBudget_Throws429FromAnyAddress()
    {
        var attempts = new UserCodeAttempts(new AttemptGuardStore(_db, TestOptions));
        var user = Guid.NewGuid();
        for (var i = 0; i < UserCodeAttempts.PerAccount; i++)
            await attempts.ReserveAsync(user, $"192.0.2.{i}", CancellationToken.None);
        var e = Assert.ThrowsAsync<ThrottledException>(() => attempts.ReserveAsync(user, "192.0.2.200", CancellationToken.None));
        Assert.That(e!.RetryAfterSeconds, Is.InRange(1, (int)UserCodeAttempts.Window.TotalSeconds));
        Assert.DoesNotThrowAsync(() => attempts.ReserveAsync(Guid.NewGuid(), "192.0.2.200", CancellationToken.None), "another account is not held");
    }

    [Test, Description("RFC 8628 §5.1: past the address's budget every account on it is refused")]
    public async Task Reserve_OverTheAddressBudget_Throws429ForAnyAccount()
    {
        var attempts = new UserCodeAttempts(new AttemptGuardStore(_db, TestOptions));
        for (var i = 0; i < UserCodeAttempts.PerAddress; i++)
            await attempts.ReserveAsync(Guid.NewGuid(), "198.51.100.7", CancellationToken.None);
        Assert.ThrowsAsync<ThrottledException>(() => attempts.ReserveAsync(Guid.NewGuid(), "198.51.100.7", CancellationToken.None));
    }

    [Test, Description("RFC 8628 §5.1: the budget comes back after the window (time moved on the database's clock, the one the budget reads)")]
    public async Task Reserve_AfterTheWindow_IsAllowedAgain()
    {
        var attempts = new UserCodeAttempts(new AttemptGuardStore(_db, TestOptions));
        var user = Guid.NewGuid();
        for (var i = 0; i < UserCodeAttempts.PerAccount; i++)
            await attempts.ReserveAsync(user, "203.0.113.9", CancellationToken.None);
        Assert.ThrowsAsync<ThrottledException>(() => attempts.ReserveAsync(user, "203.0.113.9", CancellationToken.None));

        await using (var conn = await _db.OpenConnectionAsync())
            await conn.ExecuteAsync("UPDATE attempt_guards SET window_ends_at = window_ends_at - @Age, locked_until = locked_until - @Age",
                new { Age = UserCodeAttempts.Window + TimeSpan.FromSeconds(1) });

        Assert.DoesNotThrowAsync(() => attempts.ReserveAsync(user, "203.0.113.9", CancellationToken.None));
    }

    [Test, Description("RFC 8628 §5.1 / Issue12_Finding2: the budget is kept in PostgreSQL: another node (another store on the same database) sees it spent")]
    public async Task Issue12_Finding2_Reserve_OverTheAccountBudgetOnOneNode_IsRefusedOnAnother()
    {
        var user = Guid.NewGuid();
        var first = new UserCodeAttempts(new AttemptGuardStore(_db, TestOptions));
        for (var i = 0; i < UserCodeAttempts.PerAccount; i++)
            await first.ReserveAsync(user, $"192.0.2.{i}", CancellationToken.None);
        var second = new UserCodeAttempts(new AttemptGuardStore(_db, TestOptions));
        Assert.ThrowsAsync<ThrottledException>(() => second.ReserveAsync(user, "192.0.2.250", CancellationToken.None));
    }
}
