using Authly.Proxy;

namespace Authly.Tests.Proxies;

/// <summary>
/// The PostgreSQL proxy's scope gate: what class of scope each statement needs, decided from PostgreSQL's
/// lexical rules so that keywords hidden in strings, comments and dollar quotes neither count nor escape.
/// Pure unit tests: no host, no database.
/// </summary>
[TestFixture, Category("Proxy")]
public sealed class SqlClassifierTests
{
    [TestCase("SELECT 1")]
    [TestCase("select * from t where id = $1")]
    [TestCase("SeLeCt 1")]
    [TestCase("(SELECT 1)")]
    [TestCase("((SELECT 1) UNION (SELECT 2))")]
    [TestCase("VALUES (1), (2)")]
    [TestCase("TABLE t")]
    [TestCase("SHOW search_path")]
    [TestCase("SELECT 1;")]
    [TestCase("SELECT 1 ;  -- done\n /* really */ ")]
    [TestCase("SELECT 1 -- ; DROP TABLE x")]
    [TestCase("SELECT ';'")]
    [TestCase("SELECT 'it''s; DROP TABLE x'")]
    [TestCase("SELECT $$;DROP$$")]
    [TestCase("SELECT $a$ $$ ; $a$")]
    [TestCase("SELECT $fn$ DELETE FROM t; $fn$")]
    [TestCase(@"SELECT E'\';DROP TABLE x;--'")]
    [TestCase(@"SELECT e'\\', 'x'")]
    [TestCase(@"SELECT U&'d\0061t\+000061'")]
    [TestCase("SELECT \"delete\" FROM t")]
    [TestCase("SELECT \"into\", \"for\" FROM t")]
    [TestCase("SELECT updated_at, deleted FROM t")]
    [TestCase("SELECT insert_count, update_time, merged FROM t")]
    [TestCase("with X as (select 1) select * from X")]
    [TestCase("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r")]
    [TestCase("/* nested /* */ DROP */ SELECT 1")]
    [TestCase("SELECT 1 /* ; */")]
    [TestCase("SELECT a$$b$$ FROM t")]
    [TestCase("SELECT currval('s')")]
    [TestCase("SELECT set_config_name FROM t")]
    [TestCase("SELECT pg_sleep FROM t")]
    [TestCase("SELECT 'pg_read_file(''/etc/passwd'')'")]
    [TestCase("SELECT 1 -- pg_sleep(10)")]
    [TestCase("SELECT substring(name FOR 3) FROM t")]
    [TestCase("EXPLAIN DELETE FROM t")]
    [TestCase("EXPLAIN (COSTS false, FORMAT json) UPDATE t SET a = 1")]
    [TestCase("EXPLAIN SELECT * FROM t FOR UPDATE")]
    [TestCase("EXPLAIN ANALYZE SELECT 1")]
    [TestCase("explain (analyze true, buffers) select 1")]
    [TestCase("EXPLAIN (SELECT 1)")]
    [TestCase("COPY t TO STDOUT")]
    [TestCase("COPY (SELECT a FROM t) TO STDOUT WITH (FORMAT csv)")]
    public void Classify_Read(string sql) =>
        Assert.That(SqlClassifier.Classify(sql).Access, Is.EqualTo(SqlAccess.Read), sql);

    [TestCase("INSERT INTO t VALUES (1)", "INSERT")]
    [TestCase("insert into t select * from u", "INSERT")]
    [TestCase("UPDATE t SET a = 1", "UPDATE")]
    [TestCase("DELETE FROM t", "DELETE")]
    [TestCase("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", "MERGE")]
    [TestCase("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", "WITH ... DELETE")]
    [TestCase("WITH a AS (SELECT 1), b AS (SELECT * FROM (SELECT 1) s WHERE EXISTS (INSERT INTO t VALUES (1) RETURNING 1)) SELECT 1", "WITH ... INSERT")]
    [TestCase("WITH x AS (SELECT 1) UPDATE t SET a = 1", "WITH ... UPDATE")]
    [TestCase("SELECT * FROM t FOR UPDATE", "SELECT ... FOR UPDATE")]
    [TestCase("SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED", "SELECT ... FOR UPDATE")]
    [TestCase("select * from t for share", "SELECT ... FOR UPDATE")]
    [TestCase("SELECT * FROM t FOR KEY SHARE NOWAIT", "SELECT ... FOR UPDATE")]
    [TestCase("SELECT * FROM (SELECT * FROM t FOR UPDATE) s", "SELECT ... FOR UPDATE")]
    [TestCase("COPY t FROM STDIN", "COPY ... FROM STDIN")]
    [TestCase("COPY t (a, b) FROM stdin WITH (FORMAT csv)", "COPY ... FROM STDIN")]
    [TestCase("COPY (DELETE FROM t RETURNING *) TO STDOUT", "COPY (DELETE)")]
    [TestCase("EXPLAIN ANALYZE DELETE FROM t", "EXPLAIN ANALYZE (DELETE)")]
    [TestCase("EXPLAIN ANALYSE VERBOSE UPDATE t SET a = 1", "EXPLAIN ANALYZE (UPDATE)")]
    [TestCase("EXPLAIN (ANALYZE) INSERT INTO t VALUES (1)", "EXPLAIN ANALYZE (INSERT)")]
    [TestCase("EXPLAIN (FORMAT json, \"analyze\" on) DELETE FROM t", "EXPLAIN ANALYZE (DELETE)")]
    [TestCase("SELECT nextval('s')", "function nextval")]
    [TestCase("SELECT setval('s', 10)", "function setval")]
    [TestCase("SELECT txid_current()", "function txid_current")]
    [TestCase("SELECT pg_current_xact_id()", "function pg_current_xact_id")]
    [TestCase("VALUES (pg_catalog.NEXTVAL /* c */ ('s'))", "function nextval")]
    [TestCase("INSERT INTO t VALUES (nextval('s'))", "INSERT")]
    public void Classify_Write(string sql, string reason)
    {
        var verdict = SqlClassifier.Classify(sql);
        Assert.That((verdict.Access, verdict.Reason), Is.EqualTo((SqlAccess.Write, reason)), sql);
    }

    [TestCase("CREATE TABLE x (a int)", "DDL (CREATE)")]
    [TestCase("alter table t add column b int", "DDL (ALTER)")]
    [TestCase("DROP TABLE x", "DDL (DROP)")]
    [TestCase("TRUNCATE t", "DDL (TRUNCATE)")]
    [TestCase("GRANT SELECT ON t TO public", "DDL (GRANT)")]
    [TestCase("REVOKE ALL ON t FROM public", "DDL (REVOKE)")]
    [TestCase("COMMENT ON TABLE t IS 'x'", "DDL (COMMENT)")]
    [TestCase("VACUUM t", "DDL (VACUUM)")]
    [TestCase("ANALYZE t", "DDL (ANALYZE)")]
    [TestCase("REFRESH MATERIALIZED VIEW v", "DDL (REFRESH)")]
    [TestCase("SECURITY LABEL ON TABLE t IS 'x'", "DDL (SECURITY LABEL)")]
    [TestCase("SET search_path TO evil", "SET")]
    [TestCase("SET ROLE postgres", "SET ROLE")]
    [TestCase("set local role postgres", "SET ROLE")]
    [TestCase("SET SESSION AUTHORIZATION postgres", "SET ROLE")]
    [TestCase("SET authly.user_id = '1'", "SET")]
    [TestCase("RESET ALL", "RESET")]
    [TestCase("BEGIN", "transaction control (BEGIN)")]
    [TestCase("START TRANSACTION", "transaction control (START)")]
    [TestCase("COMMIT", "transaction control (COMMIT)")]
    [TestCase("end", "transaction control (END)")]
    [TestCase("ROLLBACK", "transaction control (ROLLBACK)")]
    [TestCase("SAVEPOINT a", "transaction control (SAVEPOINT)")]
    [TestCase("ABORT", "transaction control (ABORT)")]
    [TestCase("PREPARE TRANSACTION 'x'", "transaction control (PREPARE TRANSACTION)")]
    [TestCase("PREPARE q AS DELETE FROM t", "PREPARE")]
    [TestCase("EXECUTE q", "EXECUTE")]
    [TestCase("DO $$BEGIN PERFORM 1; END$$", "DO")]
    [TestCase("CALL p()", "CALL")]
    [TestCase("LISTEN c", "LISTEN")]
    [TestCase("NOTIFY c", "NOTIFY")]
    [TestCase("LOCK TABLE t", "LOCK")]
    [TestCase("DISCARD ALL", "DISCARD")]
    [TestCase("DECLARE c CURSOR FOR SELECT 1", "DECLARE")]
    [TestCase("FETCH ALL FROM c", "FETCH")]
    [TestCase("LOAD 'x'", "LOAD")]
    [TestCase("CHECKPOINT", "CHECKPOINT")]
    [TestCase("FROBNICATE t", "unrecognized statement")]
    [TestCase("\"select\" 1", "unrecognized statement")]
    [TestCase("ſelect 1", "unrecognized statement")]
    [TestCase("SELECT * INTO newtable FROM t", "SELECT ... INTO")]
    [TestCase("WITH x AS (SELECT 1) SELECT * INTO t2 FROM x", "SELECT ... INTO")]
    [TestCase("SELECT 1into t", "SELECT ... INTO")]
    [TestCase("COPY t FROM '/etc/passwd'", "COPY ... FROM file")]
    [TestCase("COPY t TO '/tmp/x'", "COPY ... TO file")]
    [TestCase("COPY t FROM PROGRAM 'id'", "COPY ... PROGRAM")]
    [TestCase("COPY (SELECT 1) TO PROGRAM 'curl x'", "COPY ... PROGRAM")]
    [TestCase("EXPLAIN ANALYZE CREATE TABLE x AS SELECT 1", "EXPLAIN ANALYZE (DDL (CREATE))")]
    [TestCase("SELECT pg_read_file('/etc/passwd')", "function pg_read_file")]
    [TestCase("SELECT pg_catalog.pg_read_file('/etc/passwd')", "function pg_read_file")]
    [TestCase("SELECT \"pg_read_file\"('/etc/passwd')", "function pg_read_file")]
    [TestCase("SELECT \"pg_catalog\".\"pg_read_binary_file\"('x')", "function pg_read_binary_file")]
    [TestCase("SELECT PG_LS_DIR ('.')", "function pg_ls_dir")]
    [TestCase("SELECT * FROM pg_ls_waldir()", "function pg_ls_waldir")]
    [TestCase("SELECT pg_stat_file('x')", "function pg_stat_file")]
    [TestCase("SELECT lo_import('/etc/passwd')", "function lo_import")]
    [TestCase("SELECT lo_export(1, '/tmp/x')", "function lo_export")]
    [TestCase("SELECT lowrite(0, 'x')", "function lowrite")]
    [TestCase("SELECT * FROM dblink('host=x', 'DELETE FROM t') AS r(a int)", "function dblink")]
    [TestCase("SELECT dblink_exec('DELETE FROM t')", "function dblink_exec")]
    [TestCase("SELECT pg_terminate_backend(1)", "function pg_terminate_backend")]
    [TestCase("SELECT pg_cancel_backend(1)", "function pg_cancel_backend")]
    [TestCase("SELECT pg_reload_conf()", "function pg_reload_conf")]
    [TestCase("SELECT set_config('authly.user_id', '1', false)", "function set_config")]
    [TestCase("SELECT pg_advisory_lock(1)", "function pg_advisory_lock")]
    [TestCase("SELECT pg_try_advisory_xact_lock_shared(1)", "function pg_try_advisory_xact_lock_shared")]
    [TestCase("SELECT pg_sleep(10)", "function pg_sleep")]
    [TestCase("SELECT pg_sleep_for('1 minute')", "function pg_sleep_for")]
    [TestCase("SELECT pg_notify('c', 'x')", "function pg_notify")]
    [TestCase("SELECT query_to_xml('DELETE FROM t RETURNING 1', true, false, '')", "function query_to_xml")]
    [TestCase("SELECT cursor_to_xmlschema('c', true, false, '')", "function cursor_to_xmlschema")]
    [TestCase("SELECT ts_stat('DELETE FROM t RETURNING v')", "function ts_stat")]
    [TestCase("SELECT pg_switch_wal()", "function pg_switch_wal")]
    [TestCase("SELECT pg_logical_emit_message(true, 'x', 'y')", "function pg_logical_emit_message")]
    [TestCase("SELECT U&\"pg\\005fread\\005ffile\"('/etc/passwd')", "function pg_read_file")]
    [TestCase("SELECT U&\"pg!005fsleep\" UESCAPE '!' (1)", "function pg_sleep")]
    [TestCase("SELECT * FROM t FOR UPDATE, pg_sleep(1)", "function pg_sleep")]
    [TestCase("INSERT INTO t VALUES (pg_read_file('x'))", "function pg_read_file")]
    [TestCase("COPY t TO STDOUT WHERE pg_sleep(1) IS NULL", "function pg_sleep")]
    [TestCase("EXPLAIN SELECT pg_sleep(1)", "function pg_sleep")]
    public void Classify_Admin(string sql, string reason)
    {
        var verdict = SqlClassifier.Classify(sql);
        Assert.That((verdict.Access, verdict.Reason), Is.EqualTo((SqlAccess.Admin, reason)), sql);
    }

    // pg_settings' UPDATE rule calls set_config(): a write to it changes a setting, including the
    // authly.* settings row-level security reads the caller's identity from.
    [TestCase("UPDATE pg_settings SET setting = 'x' WHERE name = 'authly.user_id'")]
    [TestCase("update PG_CATALOG.PG_SETTINGS set setting = $1 where name = $2")]
    [TestCase("UPDATE \"pg_settings\" SET setting = 'x'")]
    [TestCase("UPDATE U&\"pg\\005fsettings\" SET setting = 'x'")]
    [TestCase("UPDATE ONLY pg_settings SET setting = 'x'")]
    [TestCase("WITH s AS (UPDATE pg_settings SET setting = 'x' WHERE name = 'work_mem' RETURNING name) SELECT * FROM s")]
    [TestCase("SELECT * FROM pg_settings FOR UPDATE")]
    [TestCase("INSERT INTO log (name) SELECT name FROM pg_settings")]
    public void Classify_WriteThatNamesPgSettings_IsAdminLikeSetConfig(string sql)
    {
        var verdict = SqlClassifier.Classify(sql);
        Assert.That((verdict.Access, verdict.Reason), Is.EqualTo((SqlAccess.Admin, "write to pg_settings (changes a setting, as set_config does)")), sql);
    }

    [TestCase("SELECT name, setting FROM pg_settings WHERE name = 'work_mem'")]
    [TestCase("SELECT current_setting('work_mem')")]
    [TestCase("UPDATE t SET note = 'pg_settings'")]
    public void Classify_ReadingSettings_StaysWhatItWas(string sql) =>
        Assert.That(SqlClassifier.Classify(sql).Access, Is.Not.EqualTo(SqlAccess.Admin), sql);

    // The seed belongs to the pooled connection: the next caller's random() would follow it.
    [TestCase("SELECT setseed(0.5)")]
    [TestCase("SELECT pg_catalog.setseed(0)")]
    [TestCase("SELECT \"setseed\"(0)")]
    [TestCase("SELECT 1 FROM (SELECT setseed(0.25)) s")]
    public void Classify_Setseed_IsAdminBecauseTheSeedOutlivesTheStatement(string sql) =>
        Assert.That(SqlClassifier.Classify(sql), Is.EqualTo(new SqlVerdict(SqlAccess.Admin, "function setseed") { ReturnsRows = true }), sql);

    // COPY's rows travel in the COPY sub-protocol, which the proxy does not relay: the proxy refuses it by this mark.
    [TestCase("COPY t TO STDOUT", true)]
    [TestCase("copy (select a from t) to stdout with (format csv)", true)]
    [TestCase("COPY t (a, b) FROM STDIN", true)]
    [TestCase("COPY (DELETE FROM t RETURNING *) TO STDOUT", true)]
    [TestCase("COPY t TO STDOUT WHERE pg_sleep(1) IS NULL", true)]
    [TestCase("COPY t TO '/tmp/t.csv'", false)]
    [TestCase("COPY t FROM '/tmp/t.csv'", false)]
    [TestCase("SELECT 'COPY t TO STDOUT'", false)]
    public void Classify_CopyThroughStdinOrStdout_IsMarkedAsACopyStream(string sql, bool stream) =>
        Assert.That(SqlClassifier.Classify(sql).IsCopyStream, Is.EqualTo(stream), sql);

    [TestCase("SELECT 1", "SELECT")]
    [TestCase("VALUES (1)", "VALUES")]
    [TestCase("with x as (select 1) select * from x", "WITH")]
    [TestCase("EXPLAIN ANALYZE SELECT 1", "EXPLAIN ANALYZE (SELECT)")]
    [TestCase("COPY t TO STDOUT", "COPY ... TO STDOUT")]
    public void Classify_Read_GivesTheReason(string sql, string reason)
    {
        var verdict = SqlClassifier.Classify(sql);
        Assert.That((verdict.Access, verdict.Reason), Is.EqualTo((SqlAccess.Read, reason)));
    }

    [TestCase("", "empty")]
    [TestCase("   \n\t ", "empty")]
    [TestCase("-- just a comment", "empty")]
    [TestCase("/* only */ /* comments */", "empty")]
    [TestCase(";", "empty")]
    [TestCase("SELECT 1; DROP TABLE x", "Only one statement per request is allowed")]
    [TestCase("SELECT 1;;", "Only one statement per request is allowed")]
    [TestCase("SELECT 1; -- c\n SELECT 2", "Only one statement per request is allowed")]
    [TestCase("SELECT 'a' ; ''", "Only one statement per request is allowed")]
    [TestCase("SELECT 'abc", "Unterminated quoted string")]
    [TestCase("SELECT 'it''s", "Unterminated quoted string")]
    [TestCase(@"SELECT E'abc\'", "Unterminated quoted string")]
    [TestCase("SELECT \"abc", "Unterminated quoted identifier")]
    [TestCase("SELECT $$abc", "Unterminated dollar-quoted string")]
    [TestCase("SELECT $a$ abc $b$", "Unterminated dollar-quoted string")]
    [TestCase("SELECT 1 /* abc", "Unterminated block comment")]
    [TestCase("SELECT 1 /* /* */", "Unterminated block comment")]
    [TestCase("SELECT (1", "Unbalanced parentheses")]
    public void Classify_Rejects(string sql, string message)
    {
        var e = Assert.Throws<AuthlyException>(() => SqlClassifier.Classify(sql))!;
        Assert.That(e.Message, Does.Contain(message).IgnoreCase);
    }

    [Test]
    public void Classify_WhenAStringContinuesOnTheNextLine_KeepsTheEscapeRulesOfItsFirstPart()
    {
        // scan.l quotecontinue: the second segment is still an E'' string, so \' does not end it and the
        // quote after the space does: "; DROP TABLE x" is a second statement, not text.
        var sql = "SELECT E'a'\n'\\' '; DROP TABLE x; --'";
        var e = Assert.Throws<AuthlyException>(() => SqlClassifier.Classify(sql))!;
        Assert.That(e.Message, Is.EqualTo("Only one statement per request is allowed"));
    }

    [Test]
    public void Classify_WhenAStringContinuesAfterALineComment_TreatsItAsOneString() =>
        Assert.That(SqlClassifier.Classify("SELECT 'a' -- c\n'; DROP TABLE x'").Access, Is.EqualTo(SqlAccess.Read));

    [Test]
    public void Classify_InputOverOneMebibyte_IsRejected()
    {
        var sql = "SELECT '" + new string('x', SqlClassifier.MaxBytes) + "'";
        var e = Assert.Throws<AuthlyException>(() => SqlClassifier.Classify(sql))!;
        Assert.That(e.Message, Does.Contain("1 MiB"));
    }

    [Test]
    public void Classify_MultiByteInputOverOneMebibyteOfUtf8_IsRejected()
    {
        var sql = "SELECT '" + new string('é', SqlClassifier.MaxBytes / 2) + "'";
        Assert.Throws<AuthlyException>(() => SqlClassifier.Classify(sql));
    }

    [Test]
    public void Classify_DeeplyNestedParentheses_DoesNotOverflow()
    {
        var sql = new string('(', 100_000) + "SELECT 1" + new string(')', 100_000);
        Assert.That(SqlClassifier.Classify(sql).Access, Is.EqualTo(SqlAccess.Read));
    }

    [TestCase("SELECT 1", 0)]
    [TestCase("SELECT $1, $2", 2)]
    [TestCase("SELECT $2, $1", 2)]
    [TestCase("SELECT '$3'", 0)]
    [TestCase("SELECT $10", 10)]
    [TestCase("SELECT $1 -- $5", 1)]
    [TestCase("SELECT $1 /* $5 */", 1)]
    [TestCase("SELECT $$ $7 $$, $x$ $8 $x$, $2", 2)]
    [TestCase("SELECT E'\\' $9', \"$4\", $3", 3)]
    [TestCase("SELECT a$1 FROM t", 0)]
    public void MaxPlaceholder_CountsOnlyRealPlaceholders(string sql, int expected) =>
        Assert.That(SqlClassifier.MaxPlaceholder(sql), Is.EqualTo(expected), sql);

    [TestCase("SELECT $65536")]
    [TestCase("SELECT $99999999999999999999")]
    [TestCase("SELECT '$1")]
    public void MaxPlaceholder_Rejects(string sql) =>
        Assert.Throws<AuthlyException>(() => SqlClassifier.MaxPlaceholder(sql));

    // ---- Issue 13: SqlVerdict says whether the statement returns rows (the wire's Describe needs it), from tokens, not a regex ----

    [TestCase("SELECT 1", true)]
    [TestCase("(SELECT 1) UNION (SELECT 2)", true)]
    [TestCase("VALUES (1)", true)]
    [TestCase("TABLE t", true)]
    [TestCase("SHOW search_path", true)]
    [TestCase("EXPLAIN DELETE FROM t", true)]
    [TestCase("WITH x AS (SELECT 1) SELECT * FROM x", true)]
    [TestCase("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", true)]
    [TestCase("INSERT INTO t VALUES (1) RETURNING id", true)]
    [TestCase("update t set a = 1 returning *", true)]
    [TestCase("DELETE FROM t WHERE id = $1 RETURNING id", true)]
    [TestCase("INSERT INTO t VALUES (1)", false)]
    [TestCase("UPDATE t SET a = 1", false)]
    [TestCase("DELETE FROM t", false)]
    [TestCase("INSERT INTO t (name) VALUES ('RETURNING')", false, Description = "the word in a string is text")]
    [TestCase("UPDATE t SET a = 1 -- RETURNING *", false, Description = "the word in a comment is not a clause")]
    [TestCase("INSERT INTO t (\"returning\") VALUES (1)", false, Description = "a quoted identifier is a name")]
    [TestCase("WITH d AS (DELETE FROM t RETURNING *) INSERT INTO u SELECT * FROM d", false, Description = "the CTE's RETURNING feeds the CTE")]
    [TestCase("WITH d AS (SELECT 1) INSERT INTO u SELECT * FROM d RETURNING *", true)]
    public void Classify_ReturnsRows_says_whether_PostgreSQL_answers_with_rows(string sql, bool expected) =>
        Assert.That(SqlClassifier.Classify(sql).ReturnsRows, Is.EqualTo(expected), sql);

    [TestCase("DISCARD ALL", true)]
    [TestCase("discard all", true)]
    [TestCase("  DISCARD   ALL  ", true)]
    [TestCase("DISCARD /* pooled */ ALL", true)]
    [TestCase("DISCARD PLANS", false)]
    [TestCase("DISCARD ALL; DROP TABLE t", false)]
    [TestCase("SELECT 'DISCARD ALL'", false)]
    [TestCase("DISCARD 'ALL", false, Description = "text the lexer refuses is not DISCARD ALL")]
    public void IsDiscardAll_recognises_only_DISCARD_ALL(string sql, bool expected) =>
        Assert.That(SqlClassifier.IsDiscardAll(sql), Is.EqualTo(expected), sql);
}
