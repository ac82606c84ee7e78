using Authly.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace Authly.Tests.Stores;

/// <summary>
/// Issue 13: the stores take timestamptz values as Npgsql gives them, a UTC DateTime, and turn them into
/// Unix seconds (exp, iat, auth_time, updated_at) without DateTime.SpecifyKind. These tests hold the
/// assumption that makes that correct, whatever the session's or the machine's time zone.
/// </summary>
[TestFixture, Category("Stores")]
public sealed class UtcTimesTests
{
    private sealed record Stamped
    {
        public DateTime At { get; init; }
        public long Epoch { get; init; }
    }

    private NpgsqlDataSource _db = null!;

    [OneTimeSetUp] public async Task CreateDatabaseAsync() => _db = NpgsqlDataSource.Create(await TestServers.CreateDatabaseAsync());
    [OneTimeTearDown] public async Task DisposeAsync() => await _db.DisposeAsync();

    [Test]
    public async Task Timestamptz_ReadByDapper_IsUtcAndGivesTheDatabasesUnixSeconds()
    {
        await using var conn = await _db.OpenConnectionAsync();
        // A session far from UTC: a value read as local time, or shifted by the session zone, would be off by hours.
        await conn.ExecuteAsync("SET TIME ZONE 'Asia/Kathmandu'");
        var row = await conn.QuerySingleAsync<Stamped>(
            "SELECT t AS at, extract(epoch FROM t)::bigint AS epoch FROM (SELECT timestamptz '2026-03-01 12:34:56+05:45' AS t) s");
        Assert.Multiple(() =>
        {
            Assert.That(row.At.Kind, Is.EqualTo(DateTimeKind.Utc));
            Assert.That(new DateTimeOffset(row.At).ToUnixTimeSeconds(), Is.EqualTo(row.Epoch));
            Assert.That(row.At, Is.EqualTo(new DateTime(2026, 3, 1, 6, 49, 56, DateTimeKind.Utc)));
        });
    }

    [Test]
    public async Task Timestamptz_UtcDateTimeParameter_RoundTripsUnchanged()
    {
        await using var conn = await _db.OpenConnectionAsync();
        await conn.ExecuteAsync("SET TIME ZONE 'America/St_Johns'");
        var at = new DateTime(2026, 12, 7, 17, 46, 6, DateTimeKind.Utc);
        var back = await conn.QuerySingleAsync<DateTime>("SELECT @At::timestamptz", new { At = at });
        Assert.Multiple(() =>
        {
            Assert.That(back, Is.EqualTo(at));
            Assert.That(back.Kind, Is.EqualTo(DateTimeKind.Utc));
        });
    }
}
