using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Tests.Core;

/// <summary>Issue 12 finding 6/8: pool size and timeouts come from DATABASE_URL, with defaults that queue rather than fail.</summary>
[TestFixture, Category("Core")]
public sealed class DatabaseUrlTests
{
    private const string Base = "postgresql://u:pw@db.internal:5432/authly";

    [Test, Description("Issue12_Finding6: every pool and timeout parameter reaches its Npgsql field")]
    public void DatabaseUrl_PoolAndTimeoutParameters_FillTheNpgsqlFields()
    {
        var b = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString(
            Base + "?max_pool_size=7&min_pool_size=2&connect_timeout=3&command_timeout=4&statement_timeout=2500"));
        Assert.Multiple(() =>
        {
            Assert.That(b.MaxPoolSize, Is.EqualTo(7));
            Assert.That(b.MinPoolSize, Is.EqualTo(2));
            Assert.That(b.Timeout, Is.EqualTo(3));
            Assert.That(b.CommandTimeout, Is.EqualTo(4));
            Assert.That(b.Options, Is.EqualTo("-c statement_timeout=2500"));
        });
    }

    [Test, Description("Issue12_Finding6/8: the server's pool queues (20 connections, 5 s wait) and gives up on a stalled database in seconds")]
    public void ForServer_WithoutParameters_UsesTheDocumentedDefaults()
    {
        var b = new NpgsqlConnectionStringBuilder(DatabaseUrl.ForServer(Base));
        Assert.Multiple(() =>
        {
            Assert.That(b.MaxPoolSize, Is.EqualTo(20));
            Assert.That(b.Timeout, Is.EqualTo(5));
            Assert.That(b.CommandTimeout, Is.EqualTo(10));
            Assert.That(b.Options, Is.EqualTo("-c statement_timeout=8000"));
        });
    }

    [Test, Description("Issue12_Finding6: what the URL says wins over the defaults; statement_timeout=0 turns it off")]
    public void ForServer_WithParameters_KeepsThem()
    {
        var b = new NpgsqlConnectionStringBuilder(DatabaseUrl.ForServer(Base + "?max_pool_size=3&connect_timeout=30&command_timeout=0&statement_timeout=0"));
        Assert.Multiple(() =>
        {
            Assert.That(b.MaxPoolSize, Is.EqualTo(3));
            Assert.That(b.Timeout, Is.EqualTo(30));
            Assert.That(b.CommandTimeout, Is.EqualTo(0));
            Assert.That(b.Options, Is.EqualTo("-c statement_timeout=0"));
        });
    }

    [Test, Description("Issue12_Finding6: a key=value connection string keeps the settings it names and gets the defaults for the rest")]
    public void ForServer_KeyValueConnectionString_KeepsWhatItNames()
    {
        var b = new NpgsqlConnectionStringBuilder(DatabaseUrl.ForServer("Host=h;Database=d;Maximum Pool Size=100;CommandTimeout=30;Options=-c search_path=app"));
        Assert.Multiple(() =>
        {
            Assert.That(b.MaxPoolSize, Is.EqualTo(100));
            Assert.That(b.CommandTimeout, Is.EqualTo(30));
            Assert.That(b.Timeout, Is.EqualTo(5));
            Assert.That(b.Options, Is.EqualTo("-c search_path=app -c statement_timeout=8000"));
        });
    }

    [Test, Description("Issue12_Finding6: a min_pool_size above the default maximum raises the maximum instead of failing at the first open")]
    public void ForServer_MinPoolSizeAboveDefaultMaximum_RaisesTheMaximum()
    {
        var b = new NpgsqlConnectionStringBuilder(DatabaseUrl.ForServer(Base + "?min_pool_size=30"));
        Assert.That((b.MinPoolSize, b.MaxPoolSize), Is.EqualTo((30, 30)));
    }

    [TestCase("max_pool_size=0", "max_pool_size")]
    [TestCase("max_pool_size=-1", "max_pool_size")]
    [TestCase("max_pool_size=ten", "max_pool_size")]
    [TestCase("max_pool_size=", "max_pool_size")]
    [TestCase("max_pool_size=1001", "max_pool_size")]
    [TestCase("min_pool_size=-1", "min_pool_size")]
    [TestCase("min_pool_size=5&max_pool_size=3", "min_pool_size")]
    [TestCase("connect_timeout=0", "connect_timeout")]
    [TestCase("connect_timeout=1.5", "connect_timeout")]
    [TestCase("connect_timeout=99999", "connect_timeout")]
    [TestCase("command_timeout=-5", "command_timeout")]
    [TestCase("command_timeout=5s", "command_timeout")]
    [TestCase("statement_timeout=-1", "statement_timeout")]
    [TestCase("statement_timeout=10s", "statement_timeout")]
    [TestCase("statement_timeout=%2B100", "statement_timeout")]
    [TestCase("max_pool_size=5&max_pool_size=6", "max_pool_size")]
    [TestCase("pool_size=5", "pool_size")]
    [TestCase("options=-c%20statement_timeout%3D0", "options")]
    public void DatabaseUrl_BadParameter_IsRefusedNamingIt(string query, string parameter)
    {
        // Issue12_Finding6: bad input gets a clear error that names what is wrong.
        var e = Assert.Throws<FormatException>(() => DatabaseUrl.ToConnectionString(Base + "?" + query))!;
        Assert.That(e.Message, Does.Contain(parameter));
        Assert.Throws<FormatException>(() => DatabaseUrl.ForServer(Base + "?" + query));
    }

    [Test, Description("Issue12_Finding8: statement_timeout is PostgreSQL's session default, also after the connection went back to the pool")]
    public async Task ForServer_StatementTimeout_IsEnforcedByPostgreSql()
    {
        var url = await TestServers.CreateDatabaseAsync();
        await using var db = NpgsqlDataSource.Create(DatabaseUrl.ForServer(url + ";Maximum Pool Size=1"));
        await using (var conn = await db.OpenConnectionAsync())
        {
            Assert.That(await conn.ExecuteScalarAsync<string>("SHOW statement_timeout"), Is.EqualTo("8s"));
            await conn.ExecuteAsync("SET statement_timeout = 0"); // undone by Npgsql's reset on return to the pool
        }
        await using (var conn = await db.OpenConnectionAsync())
            Assert.That(await conn.ExecuteScalarAsync<string>("SHOW statement_timeout"), Is.EqualTo("8s"));

        await using var quick = NpgsqlDataSource.Create(DatabaseUrl.ForServer(url + ";Options=-c statement_timeout=200"));
        await using var c = await quick.OpenConnectionAsync();
        var e = Assert.ThrowsAsync<PostgresException>(() => c.ExecuteAsync("SELECT pg_sleep(5)"))!;
        Assert.That(e.SqlState, Is.EqualTo(PostgresErrorCodes.QueryCanceled));
    }
}
