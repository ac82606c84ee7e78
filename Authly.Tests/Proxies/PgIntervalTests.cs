using Authly.Proxy;
using Npgsql;
using NpgsqlTypes;

namespace Authly.Tests.Proxies;

/// <summary>Intervals printed by the proxies exactly as PostgreSQL prints them (IntervalStyle postgres), checked against PostgreSQL itself.</summary>
// NonParallelizable: it reads from the template database, and PostgreSQL refuses CREATE DATABASE ... TEMPLATE while
// anyone is connected to the template, which would fail every fixture starting at that moment.
[TestFixture, NonParallelizable]
public sealed class PgIntervalTests
{
    [TestCase("25 hours")]
    [TestCase("1 day")]
    [TestCase("-1 day")]
    [TestCase("0")]
    [TestCase("1 year 2 months 3 days 04:05:06.5")]
    [TestCase("-1 year 2 days")]
    [TestCase("1 day -02:00:00")]
    [TestCase("-1 day +02:00:00")]
    [TestCase("14 months")]
    [TestCase("-00:00:00.000001")]
    [TestCase("100 years")]
    [TestCase("-1 year 2 days 00:00:01.5")]
    [TestCase("-1 mon -2 days 03:00:00")]
    [TestCase("3 days 00:00:01.25")]
    public async Task Text_MatchesPostgres(string literal)
    {
        await using var conn = new NpgsqlConnection(TestServers.ConnectionString(TestServers.TemplateDatabase) + ";Pooling=false");
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT $1::interval::text, $1::interval", conn) { Parameters = { new() { Value = literal } } };
        await using var reader = await cmd.ExecuteReaderAsync();
        Assert.That(await reader.ReadAsync(), Is.True);
        Assert.That(PgInterval.Text(reader.GetFieldValue<NpgsqlInterval>(1)), Is.EqualTo(reader.GetString(0)));
    }
}
