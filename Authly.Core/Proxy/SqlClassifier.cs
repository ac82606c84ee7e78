using System.Text;

namespace Authly.Proxy;

/// <summary>
/// Decides which scope class an SQL statement sent to the PostgreSQL proxy needs. It reads the statement's
/// tokens (<see cref="SqlLexer"/>), never its raw text, and it is deliberately conservative: whatever it does
/// not recognise as a read or a plain write needs the admin scope. It is a gate in front of the database's own
/// privileges and row-level security, not a replacement for them: a user-defined function or a view's rule
/// can still write, and only the database role can stop that.
/// </summary>
public static class SqlClassifier
{
    /// <summary>1 MiB of UTF-8: far beyond a hand-written statement, small enough to lex on every request.</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>PostgreSQL's Bind message counts parameters in 16 bits.</summary>
    public const int MaxPlaceholderNumber = 65535;

    /// <summary>EXPLAIN ANALYZE and COPY (query) classify the statement inside them; nothing real nests deeper.</summary>
    private const int MaxNesting = 4;

    /// <summary>The scope class <paramref name="sql"/> needs and why; throws a 400 <see cref="AuthlyException"/> for text the proxy refuses.</summary>
    public static SqlVerdict Classify(string sql)
    {
        var tokens = SingleStatement(sql);
        var verdict = ClassifyStatement(tokens, 0, tokens.Count, 0);
        var function = FunctionVerdict(tokens);
        if (function is not null && function.Access > verdict.Access) verdict = function with { IsCopyStream = verdict.IsCopyStream };
        // pg_settings is set_config() by another name: its UPDATE rule changes the setting, including the
        // authly.* ones row-level security trusts. Any statement that writes and names it is admin;
        // reading it (SHOW, SELECT) stays a read.
        if (verdict.Access == SqlAccess.Write && Names(tokens, "pg_settings"))
            verdict = new SqlVerdict(SqlAccess.Admin, "write to pg_settings (changes a setting, as set_config does)");
        return verdict with { ReturnsRows = ReturnsRows(tokens) };
    }

    /// <summary>
    /// Whether the statement answers with rows: its main verb (after a WITH's CTEs, which sit in parentheses) is a
    /// query, or it is INSERT/UPDATE/DELETE/MERGE with a RETURNING clause of its own (one inside a CTE feeds the CTE).
    /// </summary>
    private static bool ReturnsRows(List<SqlToken> t)
    {
        var i = 0;
        while (i < t.Count && t[i].IsPunctuation('(')) i++;
        if (i >= t.Count || t[i].Kind != SqlTokenKind.Word) return false;
        var depth = t[i].Depth;
        var verb = t[i].Text;
        if (verb == "with")
            verb = t.Skip(i + 1).FirstOrDefault(x => x.Depth == depth && x.Kind == SqlTokenKind.Word
                && x.Text is "select" or "values" or "table" or "insert" or "update" or "delete" or "merge").Text;
        return verb switch
        {
            "select" or "values" or "table" or "show" or "explain" => true,
            "insert" or "update" or "delete" or "merge" => t.Any(x => x.Depth == depth && x.IsWord("returning")),
            _ => false,
        };
    }

    /// <summary>
    /// <c>DISCARD ALL</c> and nothing else (comments aside): drivers reset pooled connections with it, and a proxy
    /// session holds no state to discard, so the wire listener answers it itself. False for text the lexer refuses.
    /// </summary>
    public static bool IsDiscardAll(string sql)
    {
        try
        {
            var t = Tokenize(sql);
            return t.Count == 2 && t[0].IsWord("discard") && t[1].IsWord("all");
        }
        catch (AuthlyException) { return false; }
    }

    /// <summary>Whether an identifier (plain, quoted or Unicode-escaped) in the statement is <paramref name="name"/>.</summary>
    private static bool Names(List<SqlToken> t, string name)
    {
        for (var i = 0; i < t.Count; i++)
            if (Identifier(t, i, out _) is { } n && n == name) return true;
        return false;
    }

    /// <summary>
    /// The name a Word, quoted or U&amp;"..." identifier token stands for; <paramref name="next"/> is the
    /// index after it (past a UESCAPE clause). Null for other tokens; "" for a Unicode name that cannot be decoded.
    /// </summary>
    private static string? Identifier(List<SqlToken> t, int i, out int next)
    {
        next = i + 1;
        switch (t[i].Kind)
        {
            case SqlTokenKind.Word or SqlTokenKind.QuotedIdentifier:
                return t[i].Text;
            case SqlTokenKind.UnicodeIdentifier:
                var escape = '\\';
                if (next + 1 < t.Count && t[next].IsWord("uescape") && t[next + 1].Kind == SqlTokenKind.String)
                {
                    var literal = t[next + 1].Text;
                    escape = literal.Length == 3 && literal[0] == '\'' ? literal[1] : '\0';
                    next += 2;
                }
                return escape == '\0' ? "" : SqlLexer.DecodeUnicodeEscapes(t[i].Text, escape);
            default:
                return null;
        }
    }

    /// <summary>
    /// The highest $n placeholder, so the proxy can insist on exactly that many parameters. $n inside strings,
    /// comments and dollar quotes is text, not a placeholder.
    /// </summary>
    public static int MaxPlaceholder(string sql)
    {
        var max = 0;
        foreach (var token in Tokenize(sql))
        {
            if (token.Kind != SqlTokenKind.Parameter) continue;
            if (!int.TryParse(token.Text, out var n) || n > MaxPlaceholderNumber)
                throw ProxyErrors.BadRequest($"Placeholders above ${MaxPlaceholderNumber} are not allowed");
            max = Math.Max(max, n);
        }
        return max;
    }

    private static List<SqlToken> Tokenize(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        // Every UTF-8 byte is at least one char, so the cheap length test settles most oversized input.
        if (sql.Length > MaxBytes || Encoding.UTF8.GetByteCount(sql) > MaxBytes)
            throw ProxyErrors.BadRequest("SQL statement is longer than 1 MiB");
        return SqlLexer.Tokenize(sql);
    }

    /// <summary>
    /// One statement, optionally ended by ';'. A semicolon at any depth ends the statement for the server's
    /// simple-query protocol, so anything after it is a second statement, which would otherwise run with the
    /// first one's verdict.
    /// </summary>
    private static List<SqlToken> SingleStatement(string sql)
    {
        var tokens = Tokenize(sql);
        var semicolon = tokens.FindIndex(t => t.IsPunctuation(';'));
        if (semicolon >= 0)
        {
            if (semicolon < tokens.Count - 1) throw ProxyErrors.BadRequest("Only one statement per request is allowed");
            tokens.RemoveAt(semicolon);
        }
        if (tokens.Count == 0) throw ProxyErrors.BadRequest("SQL statement is empty");
        return tokens;
    }

    private static SqlVerdict ClassifyStatement(List<SqlToken> t, int start, int end, int nesting)
    {
        if (nesting > MaxNesting) return new SqlVerdict(SqlAccess.Admin, "statement nested too deeply");
        var i = start;
        // (SELECT 1) UNION (SELECT 2): the statement's kind is the first keyword inside the parentheses.
        while (i < end && t[i].IsPunctuation('(')) i++;
        if (i >= end || t[i].Kind != SqlTokenKind.Word) return Unrecognized;

        var keyword = t[i].Text;
        var upper = keyword.ToUpperInvariant();
        return keyword switch
        {
            "select" or "values" or "table" or "with" => QueryVerdict(t, i, end, SqlAccess.Read, upper),
            "show" => new SqlVerdict(SqlAccess.Read, upper),
            "insert" or "update" or "delete" or "merge" => QueryVerdict(t, i, end, SqlAccess.Write, upper),
            "explain" => Explain(t, i + 1, end, nesting),
            "copy" => Copy(t, i, end, nesting),
            "set" or "reset" => Set(t, i, end, upper),
            "begin" or "start" or "commit" or "end" or "rollback" or "savepoint" or "release" or "abort"
                => new SqlVerdict(SqlAccess.Admin, $"transaction control ({upper})"),
            "prepare" when i + 1 < end && t[i + 1].IsWord("transaction")
                => new SqlVerdict(SqlAccess.Admin, "transaction control (PREPARE TRANSACTION)"),
            "security" => new SqlVerdict(SqlAccess.Admin, "DDL (SECURITY LABEL)"),
            "import" => new SqlVerdict(SqlAccess.Admin, "DDL (IMPORT FOREIGN SCHEMA)"),
            "create" or "alter" or "drop" or "truncate" or "grant" or "revoke" or "comment" or "reindex"
                or "cluster" or "vacuum" or "analyze" or "analyse" or "refresh"
                => new SqlVerdict(SqlAccess.Admin, $"DDL ({upper})"),
            "do" or "call" or "listen" or "notify" or "unlisten" or "lock" or "discard" or "prepare" or "execute"
                or "deallocate" or "fetch" or "move" or "declare" or "close" or "load" or "checkpoint"
                => new SqlVerdict(SqlAccess.Admin, upper),
            _ => Unrecognized,
        };
    }

    private static readonly SqlVerdict Unrecognized = new(SqlAccess.Admin, "unrecognized statement");

    /// <summary>
    /// SELECT, VALUES, TABLE, WITH and the DML statements: their base class, raised by what can hide inside
    /// them. Data-modifying CTEs, row locks and SELECT INTO are looked for at every depth: PostgreSQL rejects
    /// most of them below the top level, and being stricter than the server costs nothing.
    /// </summary>
    private static SqlVerdict QueryVerdict(List<SqlToken> t, int start, int end, SqlAccess access, string reason)
    {
        var verdict = new SqlVerdict(access, reason);
        var hasWith = false;
        for (var i = start; i < end; i++) hasWith |= t[i].IsWord("with");

        for (var i = start; i < end; i++)
        {
            var token = t[i];
            if (token.Kind != SqlTokenKind.Word) continue;
            var previous = i > start && t[i - 1].Kind == SqlTokenKind.Word ? t[i - 1].Text : null;
            var following = i + 1 < end && t[i + 1].Kind == SqlTokenKind.Word ? t[i + 1].Text : null;

            // SELECT ... INTO creates a table; INSERT INTO and MERGE INTO are the only other uses of INTO.
            if (token.Text == "into" && previous is not ("insert" or "merge"))
                return new SqlVerdict(SqlAccess.Admin, "SELECT ... INTO");

            // FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE lock rows: other readers' writes wait on them.
            if (token.Text == "for" && following is "update" or "share" or "no" or "key" && verdict.Access < SqlAccess.Write)
                verdict = new SqlVerdict(SqlAccess.Write, "SELECT ... FOR UPDATE");

            // WITH d AS (DELETE ... RETURNING *) SELECT ...: the statement writes although it starts as a read.
            if (hasWith && token.Text is "insert" or "update" or "delete" or "merge" && verdict.Access < SqlAccess.Write)
                verdict = new SqlVerdict(SqlAccess.Write, $"WITH ... {token.Text.ToUpperInvariant()}");
        }
        return verdict;
    }

    /// <summary>
    /// Plain EXPLAIN only plans, so it is a read whatever it explains. EXPLAIN ANALYZE runs the statement, so
    /// it needs what the statement needs. Any mention of ANALYZE among the options counts, even ANALYZE false.
    /// </summary>
    private static SqlVerdict Explain(List<SqlToken> t, int i, int end, int nesting)
    {
        var analyze = false;
        // Old syntax: EXPLAIN [ANALYZE] [VERBOSE] statement.
        while (i < end && t[i].Kind == SqlTokenKind.Word && t[i].Text is "analyze" or "analyse" or "verbose")
            analyze |= t[i++].Text != "verbose";

        // EXPLAIN (options) statement, but EXPLAIN (SELECT 1) explains a parenthesized query.
        if (i + 1 < end && t[i].IsPunctuation('(') && !StartsQuery(t[i + 1]))
        {
            var close = MatchingParenthesis(t, i, end);
            for (var j = i + 1; j < close; j++)
            {
                var option = t[j];
                // Option names may be quoted identifiers ("analyze" is the same option); a U&"..." name is
                // not worth decoding here, so it counts as ANALYZE.
                analyze |= option.Kind is SqlTokenKind.Word or SqlTokenKind.QuotedIdentifier && option.Text is "analyze" or "analyse"
                    || option.Kind == SqlTokenKind.UnicodeIdentifier;
            }
            i = close + 1;
        }
        if (!analyze) return new SqlVerdict(SqlAccess.Read, "EXPLAIN");
        var inner = ClassifyStatement(t, i, end, nesting + 1);
        return inner with { Reason = $"EXPLAIN ANALYZE ({inner.Reason})" };
    }

    private static bool StartsQuery(SqlToken token) =>
        token.IsPunctuation('(') || token.Kind == SqlTokenKind.Word && token.Text is "select" or "values" or "with" or "table";

    /// <summary>
    /// COPY ... FROM STDIN loads rows the caller sends (a write); COPY ... TO STDOUT returns them (a read).
    /// COPY to or from a server file, or through PROGRAM (a shell command on the database host), is admin.
    /// COPY (query) TO STDOUT also needs what the query needs: the query may be DELETE ... RETURNING.
    /// </summary>
    private static SqlVerdict Copy(List<SqlToken> t, int start, int end, int nesting)
    {
        for (var i = start; i < end; i++)
            if (t[i].IsWord("program")) return new SqlVerdict(SqlAccess.Admin, "COPY ... PROGRAM");

        var depth = t[start].Depth;
        var i2 = start + 1;
        SqlVerdict? query = null;
        if (i2 < end && t[i2].IsPunctuation('('))
        {
            var close = MatchingParenthesis(t, i2, end);
            query = ClassifyStatement(t, i2 + 1, close, nesting + 1);
            i2 = close + 1;
        }
        while (i2 < end && !(t[i2].Depth == depth && (t[i2].IsWord("from") || t[i2].IsWord("to")))) i2++;
        if (i2 + 1 >= end) return new SqlVerdict(SqlAccess.Admin, "COPY");

        var from = t[i2].IsWord("from");
        var target = t[i2 + 1];
        var verdict = (from, target.IsWord("stdin"), target.IsWord("stdout")) switch
        {
            (true, true, _) => new SqlVerdict(SqlAccess.Write, "COPY ... FROM STDIN") { IsCopyStream = true },
            (false, _, true) => new SqlVerdict(SqlAccess.Read, "COPY ... TO STDOUT") { IsCopyStream = true },
            (true, _, _) => new SqlVerdict(SqlAccess.Admin, "COPY ... FROM file"),
            _ => new SqlVerdict(SqlAccess.Admin, "COPY ... TO file"),
        };
        return query is not null && query.Access > verdict.Access
            ? query with { Reason = $"COPY ({query.Reason})", IsCopyStream = verdict.IsCopyStream }
            : verdict;
    }

    /// <summary>All of SET and RESET is admin; the role-changing forms get their own reason because they matter most.</summary>
    private static SqlVerdict Set(List<SqlToken> t, int start, int end, string upper)
    {
        // SET [SESSION | LOCAL] ROLE, SET [SESSION | LOCAL] SESSION AUTHORIZATION, RESET ROLE.
        for (var i = start + 1; i < Math.Min(end, start + 4); i++)
            if (t[i].IsWord("role") || t[i].IsWord("authorization"))
                return new SqlVerdict(SqlAccess.Admin, $"{upper} ROLE");
        return new SqlVerdict(SqlAccess.Admin, upper);
    }

    private static int MatchingParenthesis(List<SqlToken> t, int open, int end)
    {
        var depth = t[open].Depth;
        for (var i = open + 1; i < end; i++)
            if (t[i].Depth == depth && t[i].IsPunctuation(')')) return i;
        return end; // the lexer balances parentheses over the whole input, so this is not reached
    }

    /// <summary>
    /// Functions that write, read server files, sleep, lock, signal backends, change settings or run SQL text
    /// of their own. A call is a name followed by '(' (schema-qualified or not, quoted or not, comments
    /// between allowed) or attribute notation x.name. set_config is here because the proxy passes the caller's
    /// identity to row-level security in authly.* settings, which a caller must not rewrite.
    /// </summary>
    private static readonly Dictionary<string, SqlAccess> Functions = new(StringComparer.Ordinal)
    {
        ["nextval"] = SqlAccess.Write,
        ["setval"] = SqlAccess.Write,
        ["txid_current"] = SqlAccess.Write, // assigns a transaction id
        ["pg_current_xact_id"] = SqlAccess.Write,
        ["pg_stat_file"] = SqlAccess.Admin,
        ["lowrite"] = SqlAccess.Admin,
        ["loread"] = SqlAccess.Admin,
        ["dblink"] = SqlAccess.Admin,
        ["pg_terminate_backend"] = SqlAccess.Admin,
        ["pg_cancel_backend"] = SqlAccess.Admin,
        ["pg_reload_conf"] = SqlAccess.Admin,
        ["pg_rotate_logfile"] = SqlAccess.Admin,
        ["set_config"] = SqlAccess.Admin,
        // The seed stays with the pooled connection, so the next caller's random() would be predictable.
        ["setseed"] = SqlAccess.Admin,
        ["pg_switch_wal"] = SqlAccess.Admin,
        ["pg_switch_xlog"] = SqlAccess.Admin,
        ["pg_promote"] = SqlAccess.Admin,
        ["pg_notify"] = SqlAccess.Admin,
        ["pg_drop_replication_slot"] = SqlAccess.Admin,
        ["pg_start_backup"] = SqlAccess.Admin,
        ["pg_stop_backup"] = SqlAccess.Admin,
        ["pg_log_backend_memory_contexts"] = SqlAccess.Admin,
        ["pg_import_system_collations"] = SqlAccess.Admin,
        ["pg_truncate_visibility_map"] = SqlAccess.Admin,
        ["ts_stat"] = SqlAccess.Admin, // runs its SQL-text argument
        ["ts_rewrite"] = SqlAccess.Admin, // the two-argument form runs its SQL-text argument
        ["connectby"] = SqlAccess.Admin, // tablefunc: builds and runs SQL
    };

    /// <summary>Families matched by prefix, so that a new member (another dblink_* or pg_ls_*dir) is covered too.</summary>
    private static readonly string[] AdminPrefixes =
    [
        "pg_read_", "pg_ls_", "pg_file_", "lo_", "dblink_", "pg_advisory_", "pg_try_advisory_", "pg_sleep",
        "query_to_xml", "cursor_to_xml", "table_to_xml", "schema_to_xml", "database_to_xml", "crosstab",
        "pg_create_", "pg_copy_", "pg_logical_", "pg_replication_", "pg_wal_replay_", "pg_backup_", "pg_stat_reset",
    ];

    private static SqlVerdict? FunctionVerdict(List<SqlToken> t)
    {
        SqlVerdict? verdict = null;
        for (var i = 0; i < t.Count; i++)
        {
            var name = Identifier(t, i, out var next);
            if (name is null) continue;

            var called = next < t.Count && t[next].IsPunctuation('(');
            var attribute = i > 0 && t[i - 1].IsPunctuation('.');
            if (!called && !attribute) continue;
            if (name.Length == 0)
                return new SqlVerdict(SqlAccess.Admin, "function with a malformed Unicode-escaped name");

            var access = FunctionAccess(name);
            if (access is { } a && (verdict is null || a > verdict.Access))
            {
                verdict = new SqlVerdict(a, $"function {(name.Length > 64 ? name[..64] : name)}");
                if (a == SqlAccess.Admin) return verdict;
            }
        }
        return verdict;
    }

    private static SqlAccess? FunctionAccess(string name)
    {
        if (Functions.TryGetValue(name, out var access)) return access;
        foreach (var prefix in AdminPrefixes)
            if (name.StartsWith(prefix, StringComparison.Ordinal)) return SqlAccess.Admin;
        return null;
    }
}
