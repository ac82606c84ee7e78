using System.Buffers.Binary;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Proxy;
using Authly.Security;

namespace Authly.Server.Proxy;

/// <summary>
/// One client connection of <see cref="PgWireListener"/>: the PostgreSQL v3 startup and cleartext
/// password exchange (the password is an Authly access token), then the simple and extended query
/// protocols, each statement run through <see cref="PostgresProxy.ExecuteAsync"/> so the wire path
/// obeys exactly the rules of POST /query. The proxy runs every statement in a transaction of its
/// own, so the session never is inside a transaction: ReadyForQuery always says 'I', and BEGIN,
/// COMMIT and session settings are refused by the proxy's classifier, as over HTTP.
/// This is the state machine (prepared statements, portals, skip-until-Sync); <see cref="PgWireReader"/>
/// reads and parses frontend messages, <see cref="PgWireWriter"/> writes backend messages.
/// Every failure is an <see cref="AuthlyException"/>: one that ends a statement is an ERROR and the session
/// goes on; one that escapes the message loop (a protocol violation, a failed or expired login) is FATAL.
/// </summary>
internal sealed class PgWireSession(
    Stream stream, IPEndPoint? remote, PgWireListener owner, ProxyTokenValidator validator, PostgresProxy proxy, ILogger log)
{
    /// <summary>An unauthenticated client may send no more than a token's worth (the validator takes up to 16 KiB).</summary>
    private const int MaxPasswordBytes = 17 * 1024;
    private const int ProtocolV3 = 3 << 16, SslRequestCode = 80877103, GssEncRequestCode = 80877104, CancelRequestCode = 80877102;
    private const int OutputFlushBytes = 64 * 1024;

    private readonly PgWireReader _in = new(stream);
    private readonly PgWireWriter _out = new(stream);
    private readonly Dictionary<string, Statement> _statements = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Portal> _portals = new(StringComparer.Ordinal);
    private string? _token; // never logged
    private bool _skipUntilSync;
    private CancellationTokenSource? _query;

    public int ProcessId { get; set; }
    public int SecretKey { get; set; }

    private sealed record Statement(string Sql, uint[] ParameterTypes)
    {
        public IReadOnlyList<SqlColumn>? Columns { get; set; }
    }

    private sealed class Portal(Statement statement, IReadOnlyList<JsonNode?> parameters, short[] resultFormats)
    {
        public Statement Statement { get; } = statement;
        public IReadOnlyList<JsonNode?> Parameters { get; } = parameters;
        public short[] ResultFormats { get; } = resultFormats;
        public SqlResult? Result { get; set; }
        public short[]? Formats { get; set; }
        public List<byte[]?[]>? Rows { get; set; }
        public int Position { get; set; }
    }

    /// <summary>Cancels the statement running now, if any (a CancelRequest with this session's key).</summary>
    public void CancelQuery()
    {
        try { Volatile.Read(ref _query)?.Cancel(); }
        catch (ObjectDisposedException) { }
    }

    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            if (!await StartupAsync(ct)) return;
            await LoopAsync(ct);
        }
        catch (AuthlyException e)
        {
            try
            {
                _out.ErrorResponse(e, fatal: true);
                await _out.FlushAsync(ct);
            }
            catch (Exception ignored) when (ignored is IOException or ObjectDisposedException or OperationCanceledException) { }
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException || (e is OperationCanceledException && ct.IsCancellationRequested))
        {
            log.LogDebug("PostgreSQL wire client {Remote} went away: {Reason}", remote, e.GetType().Name);
        }
    }

    // ------------------------------------------------------------------ startup and authentication

    /// <returns>false when the connection ends here (a CancelRequest)</returns>
    private async Task<bool> StartupAsync(CancellationToken ct)
    {
        Dictionary<string, string> parameters;
        while (true)
        {
            var body = await _in.ReadStartupPacketAsync(ct);
            if (body is null) return false;
            var code = BinaryPrimitives.ReadInt32BigEndian(body);
            if (code is SslRequestCode or GssEncRequestCode)
            {
                // No TLS here: the listener serves loopback only. 'N' lets libpq go on in plaintext (or stop, with sslmode=require).
                _out.EncryptionRefused();
                await _out.FlushAsync(ct);
                continue;
            }
            if (code == CancelRequestCode)
            {
                if (body.Length == 12) owner.Cancel(BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(4)), BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(8)));
                return false;
            }
            if (code >> 16 != 3) throw PgWireErrors.NotSupported($"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: server supports 3.0");
            parameters = PgWireReader.StartupParameters(body.AsSpan(4));
            var extensions = parameters.Keys.Where(k => k.StartsWith("_pq_.", StringComparison.Ordinal)).ToList();
            // Protocol §55.2.1: a newer minor version or protocol options are answered with what this server speaks.
            if (code != ProtocolV3 || extensions.Count > 0) _out.NegotiateProtocolVersion(extensions);
            break;
        }

        if (remote is null || !IPAddress.IsLoopback(remote.Address))
            throw PgWireErrors.NotFromHere("the Authly wire listener accepts tokens only from loopback (use the HTTP proxy over TLS)");

        parameters.TryGetValue("user", out var user);
        parameters.TryGetValue("application_name", out var application);
        _out.Authentication(3); // AuthenticationCleartextPassword
        await _out.FlushAsync(ct);
        var (type, message) = await ReadMessageAsync(MaxPasswordBytes, ct);
        var token = PgWireReader.Password(type, message).Trim();
        ProxyPrincipal principal;
        try { principal = await validator.AuthenticateAsync(token, ct); }
        catch (AuthlyException e)
        {
            // Answered FATAL as it is: 28P01 for a bad token (401), 08006 when Authly cannot be asked (503).
            log.LogInformation("PostgreSQL wire client {Remote} (user {User}) refused: {Reason}", remote, LogText.Safe(user ?? ""), e.Detail);
            throw;
        }
        _token = token;
        log.LogInformation("PostgreSQL wire client {Remote} authenticated as {Caller} (application {Application})",
            remote, LogText.Safe(principal.DisplayName), LogText.Safe(application ?? ""));

        _out.Authentication(0); // AuthenticationOk
        foreach (var (name, value) in new[]
                 {
                     ("server_version", "16.0 (Authly proxy)"), ("server_encoding", "UTF8"), ("client_encoding", "UTF8"),
                     ("DateStyle", "ISO, MDY"), ("IntervalStyle", "postgres"), ("integer_datetimes", "on"),
                     ("standard_conforming_strings", "on"), ("TimeZone", "UTC"), ("is_superuser", "off"),
                     ("session_authorization", principal.DisplayName), ("application_name", application ?? ""),
                 })
            _out.ParameterStatus(name, value);
        _out.BackendKeyData(ProcessId, SecretKey);
        _out.ReadyForQuery();
        return true;
    }

    // ------------------------------------------------------------------ message loop

    private async Task LoopAsync(CancellationToken ct)
    {
        while (true)
        {
            var (type, body) = await ReadMessageAsync(PgWireReader.MaxMessageBytes, ct);
            if (type == 'X') return;
            if (_skipUntilSync && type != 'S') continue;
            var message = PgWireReader.ParseMessage(type, body);
            try
            {
                switch (message)
                {
                    case PgWireReader.Query q: await SimpleQueryAsync(q.Sql, ct); break;
                    case PgWireReader.Parse p: Parse(p); break;
                    case PgWireReader.Bind b: Bind(b); break;
                    case PgWireReader.Describe d: await DescribeAsync(d, ct); break;
                    case PgWireReader.Execute e: await ExecuteAsync(e, ct); break;
                    case PgWireReader.Close c: Close(c); break;
                    case PgWireReader.Flush: await _out.FlushAsync(ct); break;
                    case PgWireReader.Sync:
                        _skipUntilSync = false;
                        // Sync ends the implicit transaction, and portals live no longer than a transaction.
                        _portals.Clear();
                        _out.ReadyForQuery();
                        break;
                    case PgWireReader.FunctionCall: throw PgWireErrors.NotSupported("the function call protocol is not supported");
                    case PgWireReader.CopyOutsideCopy: break;
                }
            }
            catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // A value shorter than its type claims (a binary parameter): the stream cannot be trusted any more.
                throw PgWireErrors.Protocol("invalid message format");
            }
            catch (AuthlyException e) when (e.Status != 401)
            {
                // A 401 (the token expired mid-session) ends the connection; any other failure ends the statement only.
                _out.ErrorResponse(e, fatal: false);
                if (message is PgWireReader.Query or PgWireReader.FunctionCall) _out.ReadyForQuery();
                else _skipUntilSync = true; // protocol §55.2.3: after an error, discard until Sync
            }
        }
    }

    private async Task<(byte Type, byte[] Body)> ReadMessageAsync(int limit, CancellationToken ct)
    {
        // Replies are buffered and sent when the client has nothing more queued, so pipelined messages get one write.
        if (!_in.HasBuffered) await _out.FlushAsync(ct);
        return await _in.ReadMessageAsync(limit, ct);
    }

    // ------------------------------------------------------------------ simple query protocol

    private async Task SimpleQueryAsync(string sql, CancellationToken ct)
    {
        // A simple Query drops the unnamed statement and portal (protocol §55.2.2).
        _statements.Remove("");
        _portals.Remove("");
        if (IsEmpty(sql))
        {
            _out.EmptyQueryResponse();
            _out.ReadyForQuery();
            return;
        }
        var result = await RunAsync(sql, [], ct);
        var portal = new Portal(new Statement(sql, []), [], []);
        Encode(portal, result);
        if (result.IsQuery) _out.RowDescription(result.Columns, portal.Formats!);
        foreach (var row in portal.Rows!) _out.DataRow(row);
        _out.CommandComplete(result.CommandTag);
        _out.ReadyForQuery();
    }

    // ------------------------------------------------------------------ extended query protocol

    private void Parse(PgWireReader.Parse message)
    {
        if (message.Name.Length > 0 && _statements.ContainsKey(message.Name))
            throw PgWireErrors.Name("42P05", $"prepared statement \"{message.Name}\" already exists");
        _statements[message.Name] = new Statement(message.Sql, message.ParameterTypes);
        _out.ParseComplete();
    }

    private void Bind(PgWireReader.Bind message)
    {
        var statement = _statements.GetValueOrDefault(message.Statement)
                        ?? throw PgWireErrors.Name("26000", $"prepared statement \"{message.Statement}\" does not exist");
        var formats = message.ParameterFormats;
        var count = message.Values.Length;
        if (formats.Length > 1 && formats.Length != count)
            throw PgWireErrors.Protocol($"bind message has {formats.Length} parameter formats but {count} parameters");
        var parameters = new JsonNode?[count];
        for (var i = 0; i < count; i++)
        {
            if (message.Values[i] is not { } bytes) continue; // SQL NULL
            var format = formats.Length == 0 ? 0 : formats[formats.Length == 1 ? 0 : i];
            string text;
            if (format == 0) text = Encoding.UTF8.GetString(bytes);
            else
            {
                var oid = i < statement.ParameterTypes.Length ? statement.ParameterTypes[i] : 0;
                text = PgWireValues.FromBinary(bytes, oid)
                       ?? throw PgWireErrors.NotSupported($"binary parameter ${i + 1} of type oid {oid} is not supported; send it in text format");
            }
            parameters[i] = JsonValue.Create(text);
        }
        if (message.Portal.Length > 0 && _portals.ContainsKey(message.Portal))
            throw PgWireErrors.Name("42P03", $"portal \"{message.Portal}\" already exists");
        _portals[message.Portal] = new Portal(statement, parameters, message.ResultFormats);
        _out.BindComplete();
    }

    private async Task DescribeAsync(PgWireReader.Describe message, CancellationToken ct)
    {
        if (message.Kind == 'S')
        {
            var statement = _statements.GetValueOrDefault(message.Name)
                            ?? throw PgWireErrors.Name("26000", $"prepared statement \"{message.Name}\" does not exist");
            var count = Math.Max(statement.ParameterTypes.Length, Placeholders(statement.Sql));
            // Parameters travel as text of unknown type and PostgreSQL infers their type; "text" is the honest description.
            var types = new uint[count];
            for (var i = 0; i < count; i++)
                types[i] = i < statement.ParameterTypes.Length && statement.ParameterTypes[i] != 0 ? statement.ParameterTypes[i] : PgWireValues.Text;
            _out.ParameterDescription(types);
            var columns = await StatementColumnsAsync(statement, count, ct);
            if (columns.Count == 0) _out.NoData();
            else _out.RowDescription(columns, new short[columns.Count]);
        }
        else if (message.Kind == 'P')
        {
            var portal = _portals.GetValueOrDefault(message.Name) ?? throw PgWireErrors.Name("34000", $"portal \"{message.Name}\" does not exist");
            await EnsureRunAsync(portal, ct);
            if (portal.Result is { IsQuery: true } r) _out.RowDescription(r.Columns, portal.Formats!);
            else _out.NoData();
        }
        else throw PgWireErrors.Protocol($"invalid Describe kind '{message.Kind}'");
    }

    /// <summary>
    /// The row shape of a prepared statement before it is bound. Only PostgreSQL knows it, and the proxy
    /// offers no describe-only call, so a read is run once with NULL parameters in the proxy's read-only
    /// transaction (side-effect free). A write that returns no rows (<see cref="SqlVerdict.ReturnsRows"/>: no
    /// RETURNING) has none; a write with RETURNING cannot be described without running it, so that is refused
    /// rather than guessed.
    /// </summary>
    private async Task<IReadOnlyList<SqlColumn>> StatementColumnsAsync(Statement statement, int parameterCount, CancellationToken ct)
    {
        if (statement.Columns is { } known) return known;
        if (IsEmpty(statement.Sql)) return [];
        var principal = await PrincipalAsync(ct);
        var verdict = proxy.Authorize(principal, Trim(statement.Sql));
        if (verdict.Access != SqlAccess.Read)
        {
            if (!verdict.ReturnsRows) return statement.Columns = [];
            throw PgWireErrors.NotSupported("describing a prepared statement that writes and returns rows is not supported; " +
                                            "execute it through the unnamed statement (Bind/Describe portal/Execute) instead");
        }
        var result = await RunAsync(statement.Sql, new JsonNode?[parameterCount], ct);
        return statement.Columns = result.Columns;
    }

    private async Task ExecuteAsync(PgWireReader.Execute message, CancellationToken ct)
    {
        var portal = _portals.GetValueOrDefault(message.Portal) ?? throw PgWireErrors.Name("34000", $"portal \"{message.Portal}\" does not exist");
        if (IsEmpty(portal.Statement.Sql))
        {
            _out.EmptyQueryResponse();
            return;
        }
        await EnsureRunAsync(portal, ct);
        var rows = portal.Rows!;
        var end = message.MaxRows > 0 ? Math.Min(rows.Count, portal.Position + message.MaxRows) : rows.Count;
        for (; portal.Position < end; portal.Position++)
        {
            _out.DataRow(rows[portal.Position]);
            if (_out.Buffered > OutputFlushBytes) await _out.FlushAsync(ct);
        }
        if (portal.Position < rows.Count)
        {
            _out.PortalSuspended();
            return;
        }
        _out.CommandComplete(portal.Result!.CommandTag);
    }

    private void Close(PgWireReader.Close message)
    {
        if (message.Kind == 'S') _statements.Remove(message.Name);
        else if (message.Kind == 'P') _portals.Remove(message.Name);
        else throw PgWireErrors.Protocol($"invalid Close kind '{message.Kind}'");
        _out.CloseComplete();
    }

    /// <summary>Runs a portal's statement once (at Describe or Execute, whichever comes first) and keeps the encoded rows.</summary>
    private async Task EnsureRunAsync(Portal portal, CancellationToken ct)
    {
        if (portal.Result is not null) return;
        if (IsEmpty(portal.Statement.Sql))
        {
            portal.Result = new SqlResult([], [], 0, "");
            portal.Rows = [];
            portal.Formats = [];
            return;
        }
        var result = await RunAsync(portal.Statement.Sql, portal.Parameters, ct);
        Encode(portal, result);
        portal.Statement.Columns ??= result.Columns;
    }

    private static void Encode(Portal portal, SqlResult result)
    {
        var columns = result.Columns;
        var requested = portal.ResultFormats;
        if (requested.Length > 1 && requested.Length != columns.Count)
            throw PgWireErrors.Protocol($"bind message has {requested.Length} result formats but the query has {columns.Count} columns");
        var formats = new short[columns.Count];
        for (var i = 0; i < formats.Length; i++)
        {
            formats[i] = requested.Length == 0 ? (short)0 : requested[requested.Length == 1 ? 0 : i];
            if (formats[i] is not (0 or 1)) throw PgWireErrors.Protocol($"invalid format code {formats[i]}");
        }
        var rows = new List<byte[]?[]>(result.Rows.Count);
        foreach (var row in result.Rows)
        {
            var encoded = new byte[]?[row.Length];
            for (var i = 0; i < row.Length; i++)
            {
                if (row[i] is null or DBNull) continue;
                if (formats[i] == 0) encoded[i] = Encoding.UTF8.GetBytes(PgWireValues.ToText(row[i], columns[i].TypeOid)!);
                else
                {
                    // A value Npgsql could only read as text (an unmapped type) cannot be re-encoded in binary.
                    encoded[i] = (row[i] is string && columns[i].TypeOid is not (PgWireValues.Text or PgWireValues.Varchar or PgWireValues.Bpchar
                                     or PgWireValues.Name or PgWireValues.Json or PgWireValues.Jsonb or PgWireValues.Unknown or PgWireValues.Numeric)
                                     ? null
                                     : PgWireValues.ToBinary(row[i]!, columns[i].TypeOid))
                                 ?? throw PgWireErrors.NotSupported($"binary output of type {columns[i].TypeName} (column \"{columns[i].Name}\") is not supported; request text results");
                }
            }
            rows.Add(encoded);
        }
        portal.Result = result;
        portal.Formats = formats;
        portal.Rows = rows;
    }

    // ------------------------------------------------------------------ running statements

    /// <summary>
    /// Checks the token again (a long psql session must not outlive its token's expiry or revocation;
    /// the validator keeps a positive answer for a second), then runs the statement through the proxy.
    /// </summary>
    private async Task<SqlResult> RunAsync(string sql, IReadOnlyList<JsonNode?> parameters, CancellationToken ct)
    {
        var trimmed = Trim(sql);
        // Drivers reset pooled connections with DISCARD ALL; a proxy session holds no state to discard.
        if (SqlClassifier.IsDiscardAll(trimmed)) return new SqlResult([], [], 0, "DISCARD ALL");
        var principal = await PrincipalAsync(ct);
        using var query = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Volatile.Write(ref _query, query);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var result = await proxy.ExecuteAsync(principal, trimmed, parameters, query.Token);
            owner.Metrics?.Record("pgwire", 200, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            return result;
        }
        catch (AuthlyException e)
        {
            owner.Metrics?.Record("pgwire", e.Status, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            throw;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw PgWireErrors.Canceled();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "PostgreSQL wire statement failed unexpectedly");
            throw PgWireErrors.Internal();
        }
        finally
        {
            Volatile.Write(ref _query, null);
        }
    }

    /// <summary>The session's caller now; a token that expired or was revoked since login ends the session (FATAL 28P01).</summary>
    private async Task<ProxyPrincipal> PrincipalAsync(CancellationToken ct)
    {
        try { return await validator.AuthenticateAsync(_token!, ct); }
        catch (AuthlyException e) when (e.Status == 401) { throw PgWireErrors.TokenExpired(); }
    }

    private static int Placeholders(string sql)
    {
        try { return SqlClassifier.MaxPlaceholder(sql); }
        catch (AuthlyException) { return 0; } // the statement is refused with the reason when it runs
    }

    private static bool IsEmpty(string sql) => sql.All(c => char.IsWhiteSpace(c) || c == ';');

    /// <summary>psql sends statements with their terminating semicolon; the proxy takes one statement without it.</summary>
    private static string Trim(string sql) => sql.TrimEnd().TrimEnd(';').TrimEnd();
}
