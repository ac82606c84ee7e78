using System.Text.Json;
using System.Text.Json.Nodes;
using Authly.Security;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace Authly.Proxy;

/// <summary>One column of a proxied result: its name and PostgreSQL type.</summary>
public sealed record SqlColumn(string Name, uint TypeOid, string TypeName);

/// <summary>What a proxied statement returned: rows (a query) or a count of affected rows (a command).</summary>
public sealed record SqlResult(IReadOnlyList<SqlColumn> Columns, IReadOnlyList<object?[]> Rows, long AffectedRows, string CommandTag)
{
    /// <summary>What the classifier called the statement ("SELECT", "INSERT", …): for audit lines, which never carry the SQL itself.</summary>
    public string Statement { get; init; } = "";

    public bool IsQuery => Columns.Count > 0;
}

/// <summary>
/// Runs one caller's statement on the proxied PostgreSQL with the caller's rights:
/// <list type="bullet">
/// <item>the statement is classified (<see cref="SqlClassifier"/>) and needs <c>database:read</c>
/// for reads, <c>database:write</c> for writes, and the configured admin scope for anything else;</item>
/// <item>it runs in a transaction of its own on a pooled connection (read-only for reads), as the
/// configured low-privilege role (<c>SET LOCAL ROLE</c>), with <c>authly.user_id</c>,
/// <c>authly.username</c>, <c>authly.client_id</c> and <c>authly.scopes</c> set transaction-locally
/// for row-level security policies, and a statement timeout;</item>
/// <item>caller values are always bind parameters, sent untyped so PostgreSQL infers their type from
/// the statement, as it would for a literal;</item>
/// <item>results over the row or size limit are refused whole (413), never truncated silently.</item>
/// </list>
/// </summary>
public sealed class PostgresProxy(NpgsqlDataSource db, ProxyOptions options, ILogger<PostgresProxy> log)
{
    public const string ReadScope = "database:read";
    public const string WriteScope = "database:write";
    public const int MaxParameters = 1000;

    /// <summary>Classifies the statement and checks the caller's scopes for it; throws a 400/403 <see cref="AuthlyException"/> (<see cref="ProxyErrors"/>).</summary>
    public SqlVerdict Authorize(ProxyPrincipal caller, string sql)
    {
        var verdict = SqlClassifier.Classify(sql);
        switch (verdict.Access)
        {
            case SqlAccess.Read when !caller.Has(ReadScope):
                throw ProxyErrors.Scope(ReadScope, $"Insufficient scope: {ReadScope} is required for {verdict.Reason}");
            case SqlAccess.Write when !caller.Has(WriteScope):
                throw ProxyErrors.Scope(WriteScope, $"Insufficient scope: {WriteScope} is required for {verdict.Reason}");
            case SqlAccess.Admin when options.AdminScope is null:
                throw ProxyErrors.Forbidden($"Statement not allowed through the proxy: {verdict.Reason}");
            case SqlAccess.Admin when !caller.Has(options.AdminScope):
                throw ProxyErrors.Scope(options.AdminScope, $"Insufficient scope: {options.AdminScope} is required for {verdict.Reason}");
        }
        return verdict;
    }

    /// <summary>Authorizes and runs one statement for the caller; every failure is an <see cref="AuthlyException"/> (<see cref="ProxyErrors"/>) with a clear message.</summary>
    public async Task<SqlResult> ExecuteAsync(ProxyPrincipal caller, string sql, IReadOnlyList<JsonNode?> parameters, CancellationToken ct)
    {
        var verdict = Authorize(caller, sql);
        // Npgsql runs COPY only through its own COPY API, never in a batch; the rows would also bypass the row and size limits.
        if (verdict.IsCopyStream)
            throw ProxyErrors.BadRequest(
                "COPY ... FROM STDIN and COPY ... TO STDOUT are not supported through the proxy: read with SELECT, and load rows with " +
                "INSERT ... VALUES or INSERT ... SELECT * FROM json_populate_recordset(NULL::<table>, $1) (SQLSTATE 0A000)",
                PostgresErrorCodes.FeatureNotSupported);
        if (parameters.Count > MaxParameters) throw ProxyErrors.BadRequest($"At most {MaxParameters} parameters are allowed");
        var used = SqlClassifier.MaxPlaceholder(sql);
        if (used != parameters.Count)
            throw ProxyErrors.BadRequest($"The query uses {used} parameter(s) ($1..${used}) but {parameters.Count} were given");

        // A connection the pool handed out may have died with a PostgreSQL restart; Npgsql notices on
        // first use. One retry on a fresh pool is safe unless a COMMIT was already on its way.
        for (var attempt = 0; ; attempt++)
        {
            var committing = false;
            NpgsqlConnection? conn = null;
            try
            {
                conn = await db.OpenConnectionAsync(ct);
                return await RunAsync(conn, caller, sql, parameters, verdict, () => committing = true, ct) with { Statement = verdict.Reason };
            }
            catch (Exception e) when (!committing && attempt == 0 && IsConnectionFailure(e, opened: conn is not null) && !ct.IsCancellationRequested)
            {
                log.LogInformation("PostgreSQL connection lost ({Reason}); retrying on a fresh connection", LogText.Safe(e.Message));
                db.Clear();
            }
            catch (Exception e) when (IsConnectionFailure(e, opened: conn is not null) && !ct.IsCancellationRequested)
            {
                log.LogWarning("PostgreSQL unavailable: {Reason}", LogText.Safe(e.Message));
                throw ProxyErrors.Unavailable("Database unavailable");
            }
            finally
            {
                if (conn is not null) await conn.DisposeAsync();
            }
        }
    }

    /// <param name="markSent">called just before a write's COMMIT: from then on a lost connection leaves the outcome unknown</param>
    private async Task<SqlResult> RunAsync(NpgsqlConnection conn, ProxyPrincipal caller, string sql, IReadOnlyList<JsonNode?> parameters,
        SqlVerdict verdict, Action markSent, CancellationToken ct)
    {
        var statement = new NpgsqlBatchCommand(sql);
        foreach (var p in parameters) statement.Parameters.Add(Parameter(p));
        // The server-side statement_timeout ends the query; this only guards against a server that stops answering.
        var timeout = (int)Math.Ceiling(options.StatementTimeout.TotalSeconds) + 5;
        try
        {
            if (verdict.Access == SqlAccess.Read)
            {
                // A read is one round trip: BEGIN READ ONLY, the caller's context, the statement and COMMIT
                // in one batch. Committing a read-only transaction cannot change anything, so a result
                // refused for its size after the COMMIT went out is still refused with nothing changed.
                await using var batch = new NpgsqlBatch(conn) { Timeout = timeout };
                batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN READ ONLY"));
                AddContext(batch, caller);
                batch.BatchCommands.Add(statement);
                batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
                return await ReadAsync(batch, statement, skipContext: true, ct);
            }

            // A write is two round trips: context and statement in one batch, then COMMIT once its whole
            // result passed the limits (a RETURNING over them rolls back). Until the COMMIT goes out a lost
            // connection has changed nothing (PostgreSQL rolls back an open transaction whose client is
            // gone), so the write may still be retried; after it, the outcome is unknown and it is not.
            await using var tx = await conn.BeginTransactionAsync(ct);
            await using var command = new NpgsqlBatch(conn, tx) { Timeout = timeout };
            AddContext(command, caller);
            command.BatchCommands.Add(statement);
            var result = await ReadAsync(command, statement, skipContext: true, ct);
            markSent();
            await tx.CommitAsync(ct);
            return result;
        }
        catch (Exception e)
        {
            if (verdict.Access == SqlAccess.Read) await RollbackQuietlyAsync(conn);
            if (e is PostgresException pg) throw Translate(pg);
            throw;
        }
    }

    /// <summary>The role (SET LOCAL ROLE) and the authly.* settings, transaction-local, for row-level security.</summary>
    private void AddContext(NpgsqlBatch batch, ProxyPrincipal caller)
    {
        // Never the login's own rights: without a role there is nothing safe to run as (PostgresRoleCheck checked it at start).
        var role = options.DatabaseRole ?? throw new InvalidOperationException("The PostgreSQL proxy has no --role to run statements as");
        // set_config('role', …, true) is SET LOCAL ROLE with the name as a bind parameter.
        var context = new NpgsqlBatchCommand(
            "SELECT set_config('role', $6, true), set_config('authly.user_id', $1, true), set_config('authly.username', $2, true), " +
            "set_config('authly.client_id', $3, true), set_config('authly.scopes', $4, true), set_config('statement_timeout', $5, true), " +
            // The classifier lexes strings the way PostgreSQL does with this on (its default); pin it.
            "set_config('standard_conforming_strings', 'on', true)");
        context.Parameters.Add(new NpgsqlParameter { Value = caller.Subject });
        context.Parameters.Add(new NpgsqlParameter { Value = caller.Username ?? "" });
        context.Parameters.Add(new NpgsqlParameter { Value = caller.ClientId ?? "" });
        context.Parameters.Add(new NpgsqlParameter { Value = caller.ScopeString });
        context.Parameters.Add(new NpgsqlParameter { Value = ((long)options.StatementTimeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        context.Parameters.Add(new NpgsqlParameter { Value = role });
        batch.BatchCommands.Add(context);
    }

    /// <summary>
    /// After a failed read batch the connection may sit in an aborted or open transaction (the batch's
    /// own BEGIN): end it before the pool hands the connection to someone else. A connection that cannot
    /// even do that is broken, and Npgsql does not pool broken connections.
    /// </summary>
    private static async Task RollbackQuietlyAsync(NpgsqlConnection conn)
    {
        try
        {
            await using var rollback = new NpgsqlCommand("ROLLBACK", conn);
            await rollback.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException) { }
    }

    /// <param name="skipContext">the batch starts with the context SELECT, whose one result set comes first (Npgsql skips statements that return none)</param>
    private async Task<SqlResult> ReadAsync(NpgsqlBatch command, NpgsqlBatchCommand statement, bool skipContext, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        var hasResult = !skipContext || await reader.NextResultAsync(ct);
        if (!hasResult || reader.FieldCount == 0)
        {
            while (await reader.NextResultAsync(ct)) { }
            await reader.CloseAsync();
            return new SqlResult([], [], Math.Max(statement.RecordsAffected, 0), Tag(statement, 0));
        }
        var columns = new SqlColumn[reader.FieldCount];
        for (var i = 0; i < columns.Length; i++) columns[i] = new SqlColumn(reader.GetName(i), reader.GetDataTypeOID(i), reader.GetDataTypeName(i));
        var rows = new List<object?[]>();
        long bytes = 0;
        while (await reader.ReadAsync(ct))
        {
            if (rows.Count == options.MaxRows)
                throw ProxyErrors.TooLarge($"The result has more than {options.MaxRows} rows; add a LIMIT or narrow the query");
            var row = new object?[columns.Length];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = Value(reader, i, columns[i]);
                bytes += EstimateSize(row[i]) + columns[i].Name.Length + 4;
            }
            if (bytes > options.MaxResponseBytes)
                throw ProxyErrors.TooLarge($"The result is larger than {options.MaxResponseBytes} bytes; select fewer rows or columns");
            rows.Add(row);
        }
        await reader.CloseAsync();
        return new SqlResult(columns, rows, rows.Count, Tag(statement, columns.Length));
    }

    /// <summary>The command tag PostgreSQL sent (e.g. "INSERT 0 2"), rebuilt from what Npgsql kept of it.</summary>
    private static string Tag(NpgsqlBatchCommand statement, int fieldCount)
    {
        var verb = statement.StatementType switch
        {
            StatementType.Select => "SELECT", StatementType.Insert => "INSERT 0", StatementType.Update => "UPDATE",
            StatementType.Delete => "DELETE", StatementType.Merge => "MERGE", StatementType.Copy => "COPY", StatementType.Move => "MOVE",
            StatementType.Fetch => "FETCH", _ => null,
        };
        return verb is null ? (fieldCount > 0 ? "SELECT" : "OK") : $"{verb} {statement.Rows}";
    }

    /// <summary>A caller's JSON value as an untyped parameter: PostgreSQL infers its type from the statement, as for a literal.</summary>
    private static NpgsqlParameter Parameter(JsonNode? value)
    {
        object v = value switch
        {
            null => DBNull.Value,
            JsonValue s when s.GetValueKind() == JsonValueKind.String => s.GetValue<string>(),
            JsonValue n when n.GetValueKind() == JsonValueKind.Number => n.ToJsonString(),
            JsonValue b when b.GetValueKind() is JsonValueKind.True or JsonValueKind.False => b.GetValueKind() == JsonValueKind.True ? "true" : "false",
            _ => value.ToJsonString(), // objects and arrays as JSON text, for json/jsonb columns
        };
        return new NpgsqlParameter { Value = v, NpgsqlDbType = NpgsqlDbType.Unknown };
    }

    private static object? Value(NpgsqlDataReader reader, int i, SqlColumn column)
    {
        if (reader.IsDBNull(i)) return null;
        if (column.TypeName == "interval") return reader.GetFieldValue<NpgsqlInterval>(i);
        try { return reader.GetValue(i); }
        catch (Exception e) when (e is InvalidCastException or NotSupportedException or OverflowException)
        {
            // Types Npgsql has no CLR mapping for (or values out of its range, like infinite dates): their text form.
            return reader.GetFieldValue<string>(i);
        }
    }

    private static long EstimateSize(object? v) => v switch
    {
        null => 4,
        string s => s.Length + 2,
        byte[] b => b.Length * 2 + 4,
        Array a => a.Length * 8 + 2,
        _ => 24,
    };

    private AuthlyException Translate(PostgresException e)
    {
        switch (e.SqlState)
        {
            case PostgresErrorCodes.QueryCanceled:
                return ProxyErrors.StatementTimeout($"Query exceeded the statement timeout of {(long)options.StatementTimeout.TotalMilliseconds} ms");
            case PostgresErrorCodes.InsufficientPrivilege:
                return ProxyErrors.Forbidden("Permission denied: " + e.MessageText);
            case PostgresErrorCodes.ReadOnlySqlTransaction:
                return ProxyErrors.Scope(WriteScope, "Insufficient scope: the statement writes, which needs " + WriteScope);
            case PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections:
                log.LogWarning("PostgreSQL unavailable: {Reason}", LogText.Safe(e.MessageText));
                return ProxyErrors.Unavailable("Database unavailable");
            default:
                // The caller wrote the statement; PostgreSQL's own message (not its internal detail) is what they need to fix it.
                // Its SQLSTATE travels on to a PostgreSQL-wire client as it is.
                return ProxyErrors.BadRequest($"Query failed: {e.MessageText} (SQLSTATE {e.SqlState})", e.SqlState);
        }
    }

    /// <param name="opened">false: the pool could not hand out a connection (server down, database closed, bad credentials
    /// of the proxy itself), so nothing ran and any Npgsql failure or timeout counts</param>
    private static bool IsConnectionFailure(Exception e, bool opened) =>
        !opened && e is NpgsqlException or TimeoutException
        || e is NpgsqlException { IsTransient: true } and not PostgresException
        || e is NpgsqlException and not PostgresException && e.InnerException is System.IO.IOException or System.Net.Sockets.SocketException
        || e is PostgresException { SqlState: PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow }
        || e is AuthlyException { Status: 503 };

    /// <summary>The JSON body of a result, as POST /query answers it.</summary>
    public static JsonObject ToJson(SqlResult result)
    {
        if (!result.IsQuery) return new JsonObject { ["message"] = "Query executed successfully", ["affected_rows"] = result.AffectedRows };
        var data = new JsonArray();
        foreach (var row in result.Rows)
        {
            var o = new JsonObject();
            for (var i = 0; i < row.Length; i++) o[result.Columns[i].Name] = ToJsonNode(row[i], result.Columns[i]);
            data.Add(o);
        }
        return new JsonObject { ["data"] = data, ["row_count"] = result.Rows.Count };
    }

    private static JsonNode? ToJsonNode(object? v, SqlColumn column) => v switch
    {
        null => null,
        string s when column.TypeName is "json" or "jsonb" => JsonNode.Parse(s),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        short or int or long or byte or decimal => JsonValue.Create(Convert.ToDecimal(v, System.Globalization.CultureInfo.InvariantCulture)),
        double d when double.IsFinite(d) => JsonValue.Create(d),
        float f when float.IsFinite(f) => JsonValue.Create(f),
        double or float => JsonValue.Create(Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)), // NaN, Infinity: JSON has no number for them
        DateTime d => JsonValue.Create(d.Kind == DateTimeKind.Unspecified ? d.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFF", System.Globalization.CultureInfo.InvariantCulture) : d.ToUniversalTime().ToString("O", System.Globalization.CultureInfo.InvariantCulture)),
        DateTimeOffset d => JsonValue.Create(d.ToString("O", System.Globalization.CultureInfo.InvariantCulture)),
        DateOnly d => JsonValue.Create(d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)),
        TimeOnly t => JsonValue.Create(t.ToString("HH:mm:ss.FFFFFF", System.Globalization.CultureInfo.InvariantCulture)),
        Guid g => JsonValue.Create(g.ToString()),
        NpgsqlInterval interval => JsonValue.Create(PgInterval.Text(interval)),
        byte[] bytes => JsonValue.Create("\\x" + Convert.ToHexStringLower(bytes)),
        Array a => new JsonArray(a.Cast<object?>().Select(x => ToJsonNode(x, column with { TypeName = "" })).ToArray()),
        _ => JsonValue.Create(Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)),
    };
}
