using Authly.Proxy;
using Npgsql;

namespace Authly.Tests.Proxies;

/// <summary>
/// The wire listener over the example row-level security schema (examples/postgres-proxy-rls.sql,
/// run as --role authly_app): the caller's identity from the token reaches the policies exactly as
/// over HTTP, and a session does not outlive its token.
/// </summary>
[TestFixture]
public sealed class PgWireRlsTests
{
    private ProxyFixture _f = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _f = await ProxyFixture.StartAsync(redis: false);

    [OneTimeTearDown]
    public async Task StopAsync() => await _f.DisposeAsync();

    private NpgsqlConnection Connect(string token) =>
        new($"Host=127.0.0.1;Port={_f.Postgres!.WirePort};Username=x;Password={token};Database=x;SSL Mode=Disable;" +
            "Server Compatibility Mode=NoTypeLoading;Pooling=false");

    [Test]
    public async Task Each_user_sees_only_their_own_rows_through_the_wire()
    {
        var (alice, aliceToken) = await _f.UserTokenAsync("database:read database:write");
        var (_, bobToken) = await _f.UserTokenAsync("database:read database:write");
        var body = "alice-" + Guid.NewGuid().ToString("N")[..8];

        await using (var conn = Connect(aliceToken))
        {
            await conn.OpenAsync();
            await using var insert = new NpgsqlCommand("INSERT INTO notes (body) VALUES ($1) RETURNING owner_id", conn) { Parameters = { new() { Value = body } } };
            Assert.That(await insert.ExecuteScalarAsync(), Is.EqualTo(alice.Id.ToString()));
            await using var mine = new NpgsqlCommand("SELECT count(*) FROM notes WHERE body = $1", conn) { Parameters = { new() { Value = body } } };
            Assert.That(await mine.ExecuteScalarAsync(), Is.EqualTo(1L));
        }
        await using (var conn = Connect(bobToken))
        {
            await conn.OpenAsync();
            await using var theirs = new NpgsqlCommand("SELECT count(*) FROM notes WHERE body = $1", conn) { Parameters = { new() { Value = body } } };
            Assert.That(await theirs.ExecuteScalarAsync(), Is.EqualTo(0L));
            await using var steal = new NpgsqlCommand("UPDATE notes SET body = 'stolen' WHERE body = $1", conn) { Parameters = { new() { Value = body } } };
            Assert.That(await steal.ExecuteNonQueryAsync(), Is.EqualTo(0));
        }
        Assert.That(await _f.TargetScalarAsync<long>("SELECT count(*) FROM notes WHERE body = @body", new { body }), Is.EqualTo(1L));
    }

    [Test]
    public async Task A_revoked_token_ends_an_open_session_at_its_next_statement()
    {
        var (_, token) = await _f.UserTokenAsync("database:read");
        await using var conn = Connect(token);
        await conn.OpenAsync();
        await using (var first = new NpgsqlCommand("SELECT 1", conn))
            Assert.That(await first.ExecuteScalarAsync(), Is.EqualTo(1));

        var revoked = await _f.RevokeAsync(token);
        Assert.That((int)revoked.StatusCode, Is.EqualTo(200));
        _f.Clock.Advance(ProxyTokenValidator.PositiveCacheFor + TimeSpan.FromMilliseconds(1));

        await using var second = new NpgsqlCommand("SELECT 1", conn);
        var e = Assert.ThrowsAsync<PostgresException>(() => second.ExecuteScalarAsync());
        Assert.That(e!.SqlState, Is.EqualTo("28P01"));
        Assert.That(e.Severity, Is.EqualTo("FATAL"));
    }
}
