using Authly.Storage;
using Authly.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.Logging;
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

    // ---- issue 15: the runner is DbUp; a database the hand-written runner made upgrades with nothing re-run ----

    /// <summary>
    /// What the runner before DbUp (Migrator up to 566bb9f) did to an empty database, kept here only
    /// to build its journal: its CREATE TABLE and INSERT, each script with its journal row in one
    /// transaction. <paramref name="upTo"/> stops after that many scripts.
    /// </summary>
    private static async Task MigrateWithTheRunnerBeforeDbUpAsync(NpgsqlDataSource db, int upTo)
    {
        await using var conn = await db.OpenConnectionAsync();
        await conn.ExecuteAsync("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    text PRIMARY KEY,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """);
        foreach (var script in Migrator.Scripts().Take(upTo))
        {
            await using var tx = await conn.BeginTransactionAsync();
            await conn.ExecuteAsync(script.Sql, transaction: tx);
            await conn.ExecuteAsync("INSERT INTO schema_migrations (version, checksum) VALUES (@Version, @Checksum)", new { script.Version, script.Checksum }, tx);
            await tx.CommitAsync();
        }
    }

    /// <summary>Tables, columns, constraints, indexes and the journal (with applied_at): what a re-run or a rewrite would change.</summary>
    private static async Task<List<string>> SchemaAsync(NpgsqlDataSource db, bool withAppliedAt)
    {
        await using var conn = await db.OpenConnectionAsync();
        var rows = new List<string>();
        rows.AddRange(await conn.QueryAsync<string>("""
            SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '')
            FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1
            """));
        rows.AddRange(await conn.QueryAsync<string>("""
            SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
            FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1
            """));
        rows.AddRange(await conn.QueryAsync<string>("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"));
        rows.AddRange(await conn.QueryAsync<string>("SELECT 'scope ' || scope_name FROM scopes ORDER BY 1"));
        rows.AddRange(await conn.QueryAsync<string>(withAppliedAt
            ? "SELECT version || ' ' || checksum || ' ' || applied_at::text FROM schema_migrations ORDER BY 1"
            : "SELECT version || ' ' || checksum FROM schema_migrations ORDER BY 1"));
        return rows;
    }

    [Test]
    public async Task Issue15_DatabaseMigratedByTheRunnerBeforeDbUp_UpgradesWithNothingReRun()
    {
        await using var db = Open(await DatabaseServer.CreateEmptyDatabaseAsync());
        await MigrateWithTheRunnerBeforeDbUpAsync(db, AllVersions.Length);
        var before = await SchemaAsync(db, withAppliedAt: true);

        var applied = await new Migrator(db).MigrateAsync(CancellationToken.None);

        Assert.That(applied, Is.Empty, "every script journaled by the old runner is seen as applied");
        Assert.That(await SchemaAsync(db, withAppliedAt: true), Is.EqualTo(before), "schema, seed rows and journal (applied_at too) unchanged");
    }

    [Test]
    public async Task Issue15_DatabaseMigratedByTheRunnerBeforeDbUp_HasTheSchemaDbUpBuildsOnAnEmptyDatabase()
    {
        await using var old = Open(await DatabaseServer.CreateEmptyDatabaseAsync());
        await MigrateWithTheRunnerBeforeDbUpAsync(old, AllVersions.Length);
        await using var fresh = Open(await DatabaseServer.CreateEmptyDatabaseAsync());
        await new Migrator(fresh).MigrateAsync(CancellationToken.None);

        Assert.That(await SchemaAsync(fresh, withAppliedAt: false), Is.EqualTo(await SchemaAsync(old, withAppliedAt: false)));
    }

    [Test]
    public async Task Issue15_DatabaseTheRunnerBeforeDbUpLeftBehind_GetsOnlyTheNewerScripts()
    {
        await using var db = Open(await DatabaseServer.CreateEmptyDatabaseAsync());
        await MigrateWithTheRunnerBeforeDbUpAsync(db, AllVersions.Length - 2);

        var applied = await new Migrator(db).MigrateAsync(CancellationToken.None);

        Assert.That(applied, Is.EqualTo(AllVersions[^2..]));
        Assert.That(await JournalAsync(db), Is.EqualTo(Migrator.Scripts().Select(s => (s.Version, s.Checksum)).ToList()));
    }

    [Test]
    public async Task Issue15_AFailingScript_IsRolledBackWholeAndLeftOutOfTheJournal()
    {
        await using var db = Open(await TestServers.CreateDatabaseAsync());
        var journal = await JournalAsync(db);
        var scripts = Migrator.Scripts().Append(Extra("9998_adds_a_table", "CREATE TABLE migrator_good (id int);"))
            .Append(Extra("9999_fails_half_way", "CREATE TABLE migrator_partial (id int);\nINSERT INTO scopes (scope_name) VALUES ('migrator-partial');\nSELECT 1 / 0;"))
            .ToList();

        var e = Assert.ThrowsAsync<InvalidOperationException>(() => new Migrator(db).MigrateAsync(scripts, CancellationToken.None))!;

        Assert.That(e.Message, Does.Contain("9999_fails_half_way").And.Contain("rolled back").And.Contain("division by zero"));
        Assert.That(await JournalAsync(db), Is.EqualTo(journal.Append(("9998_adds_a_table", scripts[^2].Checksum)).ToList()),
            "the script before it committed on its own; the failing one left no row");
        await using var conn = await db.OpenConnectionAsync();
        Assert.That(await conn.ExecuteScalarAsync<bool>("SELECT to_regclass('migrator_good') IS NOT NULL"), Is.True);
        Assert.That(await conn.ExecuteScalarAsync<bool>("SELECT to_regclass('migrator_partial') IS NOT NULL"), Is.False, "nothing of the failing script stays");
        Assert.That(await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM scopes WHERE scope_name = 'migrator-partial'"), Is.Zero);
        // The lock was released and the next start tries again (and fails the same way, not half-applied).
        var again = Assert.ThrowsAsync<InvalidOperationException>(() => new Migrator(db).MigrateAsync(scripts, CancellationToken.None))!;
        Assert.That(again.Message, Does.Contain("9999_fails_half_way"));
    }

    private static Migrator.Script Extra(string version, string sql) => new(version, sql, Migrator.Checksum(sql));

    [Test]
    public async Task Issue15_WhileAnotherNodeHoldsTheMigrationLock_NothingIsAppliedUntilItIsReleased()
    {
        await using var db = Open(await DatabaseServer.CreateEmptyDatabaseAsync());
        await using var otherNode = await db.OpenConnectionAsync();
        await otherNode.ExecuteAsync("SELECT pg_advisory_lock(@Key)", new { Key = Migrator.AdvisoryLockKey });

        var migration = Task.Run(() => new Migrator(db).MigrateAsync(CancellationToken.None));
        var waiting = await Eventually.TrueAsync(async () =>
        {
            await using var conn = await db.OpenConnectionAsync();
            return await conn.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = current_database() AND l.locktype = 'advisory' AND NOT l.granted)");
        }, TimeSpan.FromSeconds(30));

        Assert.That(waiting, Is.True, "the migrator waits for the lock");
        Assert.That(migration.IsCompleted, Is.False);
        await using (var conn = await db.OpenConnectionAsync())
            Assert.That(await conn.ExecuteScalarAsync<bool>("SELECT to_regclass('schema_migrations') IS NULL"), Is.True, "nothing done before the lock");
        await otherNode.ExecuteAsync("SELECT pg_advisory_unlock(@Key)", new { Key = Migrator.AdvisoryLockKey });
        Assert.That(await migration, Is.EqualTo(AllVersions));
    }

    [Test]
    public async Task Issue15_AScriptLongerThanThePoolsStatementTimeout_RunsToTheEnd_AndThePoolKeepsItsTimeout()
    {
        var cs = await TestServers.CreateDatabaseAsync();
        // Like the server's pool (DatabaseUrl.ForServer): every statement is cut off after a while; here 200 ms.
        await using var db = Open(cs + ";Options=-c statement_timeout=200;Maximum Pool Size=2");
        var scripts = Migrator.Scripts().Append(Extra("9999_slow", "SELECT pg_sleep(1);\nCREATE TABLE migrator_slow (id int);")).ToList();

        var applied = await new Migrator(db).MigrateAsync(scripts, CancellationToken.None);

        Assert.That(applied, Is.EqualTo(new[] { "9999_slow" }));
        await using var conn = await db.OpenConnectionAsync();
        Assert.That(await conn.ExecuteScalarAsync<string>("SHOW statement_timeout"), Is.EqualTo("200ms"), "the pooled connections keep their timeout");
    }

    [Test]
    public async Task Issue15_DbUpsNarration_StaysBelowInformation()
    {
        await using var db = Open(await DatabaseServer.CreateEmptyDatabaseAsync());
        var log = new ListLogger();

        await new Migrator(db, new Typed(log)).MigrateAsync(CancellationToken.None);
        await new Migrator(db, new Typed(log)).MigrateAsync(CancellationToken.None);

        Assert.That(log.Entries.Where(e => e.Message.StartsWith("DbUp: ", StringComparison.Ordinal)), Is.Not.Empty, "DbUp logs through the app's logger");
        Assert.That(log.Entries.Where(e => e.Level >= LogLevel.Information), Is.Empty);
    }

    private sealed class Typed(ListLogger inner) : ILogger<Migrator>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);
        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
