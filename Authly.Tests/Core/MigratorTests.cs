using Authly.Storage;
using Authly.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace Authly.Tests.Core;

[TestFixture, Category("Core")]
public sealed class MigratorTests
{
    private static readonly string[] AllVersions = Migrator.Scripts().Select(s => s.Version).ToArray();

    private static NpgsqlDataSource Open(string connectionString) => NpgsqlDataSource.Create(connectionString);

    private static async Task<List<(string Version, string Checksum)>> JournalAsync(NpgsqlDataSource db)
    {
        await using var conn = await db.OpenConnectionAsync();
        return (await conn.QueryAsync<(string, string)>("SELECT version, checksum FROM schema_migrations ORDER BY version")).AsList();
    }

    [Test]
    public void Scripts_AreNumberedAndInOrder()
    {
        Assert.That(AllVersions, Is.Not.Empty);
        Assert.That(AllVersions, Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
        Assert.That(AllVersions, Has.All.Match(@"^\d{4}_[a-z0-9_]+$"));
    }

    [Test]
    public async Task Migrate_EmptyDatabase_AppliesEveryScriptAndJournalsItsChecksum()
    {
        await using var db = Open(await DatabaseServer.CreateEmptyDatabaseAsync());
        var applied = await new Migrator(db).MigrateAsync(CancellationToken.None);
        var journal = await JournalAsync(db);
        Assert.That(applied, Is.EqualTo(AllVersions));
        Assert.That(journal, Is.EqualTo(Migrator.Scripts().Select(s => (s.Version, s.Checksum)).ToList()));
    }

    [Test]
    public async Task Migrate_Twice_TheSecondRunIsANoOp()
    {
        await using var db = Open(await DatabaseServer.CreateEmptyDatabaseAsync());
        await new Migrator(db).MigrateAsync(CancellationToken.None);
        var journal = await JournalAsync(db);
        var second = await new Migrator(db).MigrateAsync(CancellationToken.None);
        Assert.That(second, Is.Empty);
        Assert.That(await JournalAsync(db), Is.EqualTo(journal));
    }

    [TestCase("0000000000000000000000000000000000000000000000000000000000000000")]
    [TestCase("edited-by-hand")]
    [TestCase("")]
    public async Task Migrate_WhenAnAppliedScriptNoLongerMatchesItsChecksum_FailsNamingTheScript(string storedChecksum)
    {
        await using var db = Open(await TestServers.CreateDatabaseAsync());
        var version = AllVersions[0];
        await using (var conn = await db.OpenConnectionAsync())
            await conn.ExecuteAsync("UPDATE schema_migrations SET checksum = @Checksum WHERE version = @Version", new { Checksum = storedChecksum, Version = version });

        var e = Assert.ThrowsAsync<InvalidOperationException>(() => new Migrator(db).MigrateAsync(CancellationToken.None))!;

        Assert.That(e.Message, Does.Contain(version).And.Contain("new numbered script"));
    }

    [Test]
    public async Task Migrate_AfterAChecksumFailure_HasReleasedItsLock()
    {
        var cs = await TestServers.CreateDatabaseAsync();
        await using (var db = Open(cs))
        {
            await using (var conn = await db.OpenConnectionAsync())
                await conn.ExecuteAsync("UPDATE schema_migrations SET checksum = 'x' WHERE version = @Version", new { Version = AllVersions[0] });
            Assert.ThrowsAsync<InvalidOperationException>(() => new Migrator(db).MigrateAsync(CancellationToken.None));
        }
        // Another node (its own session) must get the advisory lock, and fail for the same reason rather than wait.
        await using var other = Open(cs + ";Pooling=false");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var e = Assert.ThrowsAsync<InvalidOperationException>(() => new Migrator(other).MigrateAsync(timeout.Token))!;
        Assert.That(e.Message, Does.Contain(AllVersions[0]));
    }

    [Test]
    public async Task Migrate_TwoNodesAtOnceOnAnEmptyDatabase_BothSucceedAndEachScriptIsAppliedOnce()
    {
        var cs = await DatabaseServer.CreateEmptyDatabaseAsync();
        await using var nodeA = Open(cs);
        await using var nodeB = Open(cs);
        var runs = await Task.WhenAll(
            Task.Run(() => new Migrator(nodeA).MigrateAsync(CancellationToken.None)),
            Task.Run(() => new Migrator(nodeB).MigrateAsync(CancellationToken.None)));

        Assert.That(runs[0].Concat(runs[1]), Is.EquivalentTo(AllVersions), "every script applied by exactly one node");
        Assert.That((await JournalAsync(nodeA)).Select(r => r.Version), Is.EqualTo(AllVersions));
        await using var conn = await nodeA.OpenConnectionAsync();
        Assert.That(await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM scopes WHERE scope_name = 'openid'"), Is.EqualTo(1), "seed rows inserted once");
    }
}
