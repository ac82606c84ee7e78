using Authly.Storage;
using Authly.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace Authly.Tests.Stores;

/// <summary>
/// Issue 14, PostgreSQL's share of a rotation (sql/0010, bench/README.md "PostgreSQL per rotation"): the one UPDATE a
/// refresh token gets sets only columns no index covers, so it stays heap-only (HOT), and answers stored under the old
/// rule (on the rotated row) are moved to the row they belong to now (its successor).
/// </summary>
[TestFixture, Category("Stores")]
public sealed class RotationStorageTests
{
    // What RefreshTokenStore's rotation UPDATE sets.
    private static readonly string[] RotationColumns = ["rotated_at", "replaced_by", "retry_response"];

    [Test, Description("Issue14: no index of refresh_tokens covers a column the rotation sets (key, expression or predicate), so the UPDATE can be HOT")]
    public async Task Issue14_RotationColumns_AreInNoIndex()
    {
        await using var db = NpgsqlDataSource.Create(await TestServers.CreateDatabaseAsync());
        await using var conn = await db.OpenConnectionAsync();
        var covering = (await conn.QueryAsync<string>("""
            SELECT i.indexrelid::regclass::text FROM pg_index i
            WHERE i.indrelid = 'refresh_tokens'::regclass
              AND (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) AND a.attname = ANY(@Columns))
                   OR coalesce(pg_get_expr(i.indexprs, i.indrelid), '') ~ @Pattern
                   OR coalesce(pg_get_expr(i.indpred, i.indrelid), '') ~ @Pattern)
            """, new { Columns = RotationColumns, Pattern = string.Join('|', RotationColumns) })).AsList();
        Assert.That(covering, Is.Empty, "an index on a column the rotation sets makes every rotation write new index entries");
        // Room on the page for the new version, and no foreign key checked (and locked) per row on the hot tables' writes.
        Assert.That(await conn.ExecuteScalarAsync<string[]>("SELECT reloptions FROM pg_class WHERE oid = 'refresh_tokens'::regclass"),
            Does.Contain("fillfactor=70"));
        Assert.That(await conn.ExecuteScalarAsync<long>("""
            SELECT count(*) FROM pg_constraint WHERE conrelid = 'refresh_tokens'::regclass AND contype = 'f'
              AND confrelid IN ('users'::regclass, 'refresh_tokens'::regclass)
            """), Is.Zero, "refresh_tokens' only foreign key is its family (whose user cascades)");
    }

    [Test, Description("Issue14 (sql/0010): a retry answer stored on a rotated row before the upgrade moves to its successor, so the retry still works")]
    public async Task Issue14_Migration_MovesStoredAnswersToTheSuccessor()
    {
        await using var db = NpgsqlDataSource.Create(await DatabaseServer.CreateEmptyDatabaseAsync());
        var scripts = Migrator.Scripts();
        await new Migrator(db).MigrateAsync(scripts.Where(s => string.CompareOrdinal(s.Version, "0010") < 0).ToList(), CancellationToken.None);
        await using (var conn = await db.OpenConnectionAsync())
        {
            // A family rotated twice under the old rule: t0 -> t1 -> t2; only t1 (the latest rotation) holds an answer.
            await conn.ExecuteAsync("""
                INSERT INTO users (id, username, email, password_hash) VALUES ('00000000-0000-0000-0000-0000000000a1', 'mig', 'mig@example.test', 'x');
                INSERT INTO refresh_token_families (id, user_id) VALUES ('00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000a1');
                INSERT INTO refresh_tokens (id, family_id, token_hash, user_id, scope, expires_at, access_jti, access_expires_at, rotated_at, replaced_by, retry_response)
                VALUES ('00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-0000000000f1', '\x02', '00000000-0000-0000-0000-0000000000a1', 'read',
                        now() + interval '1 day', 'j2', now() + interval '15 minutes', NULL, NULL, NULL),
                       ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000f1', '\x01', '00000000-0000-0000-0000-0000000000a1', 'read',
                        now() + interval '1 day', 'j1', now() + interval '15 minutes', now(), '00000000-0000-0000-0000-000000000002', '\xaa11'),
                       ('00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-0000000000f1', '\x00', '00000000-0000-0000-0000-0000000000a1', 'read',
                        now() + interval '1 day', 'j0', now() + interval '15 minutes', now() - interval '1 minute', '00000000-0000-0000-0000-000000000001', NULL);
                """);
        }

        await new Migrator(db).MigrateAsync(CancellationToken.None);

        await using var after = await db.OpenConnectionAsync();
        var answers = (await after.QueryAsync<(byte[] Hash, byte[]? Answer)>("SELECT token_hash, retry_response FROM refresh_tokens ORDER BY token_hash"))
            .ToDictionary(r => r.Hash[0], r => r.Answer);
        Assert.That(answers[2], Is.EqualTo(new byte[] { 0xaa, 0x11 }), "the answer of t1's rotation is on the row that rotation issued");
        Assert.That(answers[1], Is.Null);
        Assert.That(answers[0], Is.Null);
    }
}
