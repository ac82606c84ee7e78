using System.Buffers.Binary;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
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
/// </summary>
internal sealed partial class PgWireSession(
    Stream stream, IPEndPoint? remote, PgWireListener owner, ProxyTokenValidator validator, PostgresProxy proxy, ILogger log)
{
    public const int MaxMessageBytes = 16 * 1024 * 1024;
    /// <summary>An unauthenticated client may send no more than a token's worth (the validator takes up to 16 KiB).</summary>
    private const int MaxPasswordBytes = 17 * 1024;
    /// <summary>PostgreSQL's own limit for a startup packet.</summary>
    private const int MaxStartupBytes = 10_000;
    private const int ProtocolV3 = 3 << 16, SslRequestCode = 80877103, GssEncRequestCode = 80877104, CancelRequestCode = 80877102;
    private const int OutputFlushBytes = 64 * 1024;

    private readonly Input _in = new(stream);
    private readonly MemoryStream _out = new();
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

    /// <summary>An error the client is told about with an ErrorResponse; fatal ones end the connection.</summary>
    private sealed class WireError(string sqlState, string message, bool fatal = false) : Exception(message)
    {
        public string SqlState { get; } = sqlState;
        public bool Fatal { get; } = fatal;
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
        catch (WireError e) when (e.Fatal)
        {
            try
            {
                Error("FATAL", e.SqlState, e.Message);
                await FlushAsync(ct);
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
            var header = new byte[4];
            if (!await _in.ReadExactlyAsync(header, eofOk: true, ct)) return false;
            var length = BinaryPrimitives.ReadInt32BigEndian(header);
            if (length is < 8 or > MaxStartupBytes) throw new WireError("08P01", "invalid length of startup packet", fatal: true);
            var body = new byte[length - 4];
            await _in.ReadExactlyAsync(body, eofOk: false, ct);
            var code = BinaryPrimitives.ReadInt32BigEndian(body);
            if (code is SslRequestCode or GssEncRequestCode)
            {
                // No TLS here: the listener serves loopback only. 'N' lets libpq go on in plaintext (or stop, with sslmode=require).
                _out.WriteByte((byte)'N');
                await FlushAsync(ct);
                continue;
            }
            if (code == CancelRequestCode)
            {
                if (body.Length == 12) owner.Cancel(BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(4)), BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(8)));
                return false;
            }
            if (code >> 16 != 3) throw new WireError("0A000", $"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: server supports 3.0", fatal: true);
            try { parameters = StartupParameters(body.AsSpan(4)); }
            catch (ArgumentOutOfRangeException) { throw new WireError("08P01", "invalid startup packet layout", fatal: true); }
            var extensions = parameters.Keys.Where(k => k.StartsWith("_pq_.", StringComparison.Ordinal)).ToList();
            if (code != ProtocolV3 || extensions.Count > 0)
            {
                // Protocol §55.2.1: a newer minor version or protocol options are answered with what this server speaks.
                Begin('v');
                Int32(0);
                Int32(extensions.Count);
                foreach (var x in extensions) CString(x);
                End();
            }
            break;
        }

        if (remote is null || !IPAddress.IsLoopback(remote.Address))
            throw new WireError("28000", "the Authly wire listener accepts tokens only from loopback (use the HTTP proxy over TLS)", fatal: true);

        parameters.TryGetValue("user", out var user);
        parameters.TryGetValue("application_name", out var application);
        Begin('R');
        Int32(3); // AuthenticationCleartextPassword
        End();
        await FlushAsync(ct);
        var (type, message) = await ReadMessageAsync(ct, MaxPasswordBytes);
        if (type != 'p') throw new WireError("08P01", $"expected a password message, got '{(char)type}'", fatal: true);
        var token = CString(message, 0, out _).Trim();
        ProxyPrincipal principal;
        try { principal = await validator.AuthenticateAsync(token, ct); }
        catch (ProxyException e)
        {
            log.LogInformation("PostgreSQL wire client {Remote} (user {User}) refused: {Reason}", remote, LogText.Safe(user ?? ""), e.Message);
            throw new WireError(e.Status == 503 ? "08006" : "28P01", e.Message, fatal: true);
        }
        _token = token;
        log.LogInformation("PostgreSQL wire client {Remote} authenticated as {Caller} (application {Application})",
            remote, LogText.Safe(principal.DisplayName), LogText.Safe(application ?? ""));

        Begin('R');
        Int32(0); // AuthenticationOk
        End();
        foreach (var (name, value) in new[]
                 {
                     ("server_version", "16.0 (Authly proxy)"), ("server_encoding", "UTF8"), ("client_encoding", "UTF8"),
                     ("DateStyle", "ISO, MDY"), ("IntervalStyle", "postgres"), ("integer_datetimes", "on"),
                     ("standard_conforming_strings", "on"), ("TimeZone", "UTC"), ("is_superuser", "off"),
                     ("session_authorization", principal.DisplayName), ("application_name", application ?? ""),
                 })
        {
            Begin('S');
            CString(name);
            CString(value);
            End();
        }
        Begin('K');
        Int32(ProcessId);
        Int32(SecretKey);
        End();
        ReadyForQuery();
        return true;
    }

    private static Dictionary<string, string> StartupParameters(ReadOnlySpan<byte> body)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var pos = 0;
        while (pos < body.Length && body[pos] != 0)
        {
            var name = CString(body, pos, out pos);
            var value = CString(body, pos, out pos);
            result[name] = value;
        }
        return result;
    }

    // ------------------------------------------------------------------ message loop

    private async Task LoopAsync(CancellationToken ct)
    {
        while (true)
        {
            var (type, body) = await ReadMessageAsync(ct);
            if (type == 'X') return;
            if (_skipUntilSync && type != 'S') continue;
            try
            {
                switch ((char)type)
                {
                    case 'Q': await SimpleQueryAsync(CString(body, 0, out _), ct); break;
                    case 'P': Parse(body); break;
                    case 'B': Bind(body); break;
                    case 'D': await DescribeAsync(body, ct); break;
                    case 'E': await ExecuteAsync(body, ct); break;
                    case 'C': Close(body); break;
                    case 'H': await FlushAsync(ct); break;
                    case 'S':
                        _skipUntilSync = false;
                        // Sync ends the implicit transaction, and portals live no longer than a transaction.
                        _portals.Clear();
                        ReadyForQuery();
                        break;
                    case 'F': throw new WireError("0A000", "the function call protocol is not supported");
                    case 'd' or 'c' or 'f': break; // COPY data outside COPY: ignored, as PostgreSQL does
                    default: throw new WireError("08P01", $"invalid frontend message type {type}", fatal: true);
                }
            }
            catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // A message shorter than its fields claim: the stream cannot be trusted any more.
                throw new WireError("08P01", "invalid message format", fatal: true);
            }
            catch (WireError e) when (!e.Fatal)
            {
                Error("ERROR", e.SqlState, e.Message);
                if (type is (byte)'Q' or (byte)'F') ReadyForQuery();
                else _skipUntilSync = true; // protocol §55.2.3: after an error, discard until Sync
            }
        }
    }

    /// <param name="limit">the largest body accepted; before authentication only a password fits (a token is at most 16 KiB)</param>
    private async Task<(byte Type, byte[] Body)> ReadMessageAsync(CancellationToken ct, int limit = MaxMessageBytes)
    {
        // Replies are buffered and sent when the client has nothing more queued, so pipelined messages get one write.
        if (!_in.HasBuffered) await FlushAsync(ct);
        var header = new byte[5];
        if (!await _in.ReadExactlyAsync(header, eofOk: true, ct)) throw new EndOfStreamException();
        var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
        if (length < 4) throw new WireError("08P01", "invalid message length", fatal: true);
        if (length - 4 > limit) throw new WireError("54000", $"message of {length} bytes exceeds the limit of {limit}", fatal: true);
        var body = new byte[length - 4];
        await _in.ReadExactlyAsync(body, eofOk: false, ct);
        return (header[0], body);
    }

    // ------------------------------------------------------------------ simple query protocol

    private async Task SimpleQueryAsync(string sql, CancellationToken ct)
    {
        // A simple Query drops the unnamed statement and portal (protocol §55.2.2).
        _statements.Remove("");
        _portals.Remove("");
        if (IsEmpty(sql))
        {
            Begin('I');
            End();
            ReadyForQuery();
            return;
        }
        var result = await RunAsync(sql, [], ct);
        var portal = new Portal(new Statement(sql, []), [], []);
        Encode(portal, result);
        if (result.IsQuery) RowDescription(result.Columns, portal.Formats!);
        foreach (var row in portal.Rows!) DataRow(row);
        CommandComplete(result.CommandTag);
        ReadyForQuery();
    }

    // ------------------------------------------------------------------ extended query protocol

    private void Parse(byte[] body)
    {
        var name = CString(body, 0, out var pos);
        var sql = CString(body, pos, out pos);
        var count = BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(pos));
        pos += 2;
        var types = new uint[count];
        for (var i = 0; i < count; i++, pos += 4) types[i] = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(pos));
        if (name.Length > 0 && _statements.ContainsKey(name)) throw new WireError("42P05", $"prepared statement \"{name}\" already exists");
        _statements[name] = new Statement(sql, types);
        Begin('1');
        End();
    }

    private void Bind(byte[] body)
    {
        var portalName = CString(body, 0, out var pos);
        var statementName = CString(body, pos, out pos);
        var statement = _statements.GetValueOrDefault(statementName)
                        ?? throw new WireError("26000", $"prepared statement \"{statementName}\" does not exist");
        var formats = ReadInt16s(body, ref pos);
        var count = BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(pos));
        pos += 2;
        if (formats.Length > 1 && formats.Length != count) throw new WireError("08P01", $"bind message has {formats.Length} parameter formats but {count} parameters");
        var parameters = new JsonNode?[count];
        for (var i = 0; i < count; i++)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(pos));
            pos += 4;
            if (length < 0) continue; // SQL NULL
            var bytes = body.AsSpan(pos, length);
            pos += length;
            var format = formats.Length == 0 ? 0 : formats[formats.Length == 1 ? 0 : i];
            string text;
            if (format == 0) text = Encoding.UTF8.GetString(bytes);
            else
            {
                var oid = i < statement.ParameterTypes.Length ? statement.ParameterTypes[i] : 0;
                text = PgWireValues.FromBinary(bytes, oid)
                       ?? throw new WireError("0A000", $"binary parameter ${i + 1} of type oid {oid} is not supported; send it in text format");
            }
            parameters[i] = JsonValue.Create(text);
        }
        var resultFormats = ReadInt16s(body, ref pos);
        if (portalName.Length > 0 && _portals.ContainsKey(portalName)) throw new WireError("42P03", $"portal \"{portalName}\" already exists");
        _portals[portalName] = new Portal(statement, parameters, resultFormats);
        Begin('2');
        End();
    }

    private async Task DescribeAsync(byte[] body, CancellationToken ct)
    {
        var kind = (char)body[0];
        var name = CString(body, 1, out _);
        if (kind == 'S')
        {
            var statement = _statements.GetValueOrDefault(name) ?? throw new WireError("26000", $"prepared statement \"{name}\" does not exist");
            var count = Math.Max(statement.ParameterTypes.Length, Placeholders(statement.Sql));
            Begin('t');
            Int16((short)count);
            // Parameters travel as text of unknown type and PostgreSQL infers their type; "text" is the honest description.
            for (var i = 0; i < count; i++) Int32(unchecked((int)(i < statement.ParameterTypes.Length && statement.ParameterTypes[i] != 0 ? statement.ParameterTypes[i] : PgWireValues.Text)));
            End();
            var columns = await StatementColumnsAsync(statement, count, ct);
            if (columns.Count == 0) NoData();
            else RowDescription(columns, new short[columns.Count]);
        }
        else if (kind == 'P')
        {
            var portal = _portals.GetValueOrDefault(name) ?? throw new WireError("34000", $"portal \"{name}\" does not exist");
            await EnsureRunAsync(portal, ct);
            if (portal.Result is { IsQuery: true } r) RowDescription(r.Columns, portal.Formats!);
            else NoData();
        }
        else throw new WireError("08P01", $"invalid Describe kind '{kind}'");
    }

    /// <summary>
    /// The row shape of a prepared statement before it is bound. Only PostgreSQL knows it, and the proxy
    /// offers no describe-only call, so a read is run once with NULL parameters in the proxy's read-only
    /// transaction (side-effect free). A write without RETURNING returns no rows; a write with RETURNING
    /// cannot be described without running it, so that is refused rather than guessed.
    /// </summary>
    private async Task<IReadOnlyList<SqlColumn>> StatementColumnsAsync(Statement statement, int parameterCount, CancellationToken ct)
    {
        if (statement.Columns is { } known) return known;
        if (IsEmpty(statement.Sql)) return [];
        var principal = await PrincipalAsync(ct);
        SqlVerdict verdict;
        try { verdict = proxy.Authorize(principal, Trim(statement.Sql)); }
        catch (ProxyException e) { throw new WireError(SqlState(e), e.Message); }
        if (verdict.Access != SqlAccess.Read)
        {
            if (!ReturningWord().IsMatch(statement.Sql)) return statement.Columns = [];
            throw new WireError("0A000", "describing a prepared statement that writes and returns rows is not supported; " +
                                         "execute it through the unnamed statement (Bind/Describe portal/Execute) instead");
        }
        var result = await RunAsync(statement.Sql, new JsonNode?[parameterCount], ct);
        return statement.Columns = result.Columns;
    }

    private async Task ExecuteAsync(byte[] body, CancellationToken ct)
    {
        var name = CString(body, 0, out var pos);
        var maxRows = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(pos));
        var portal = _portals.GetValueOrDefault(name) ?? throw new WireError("34000", $"portal \"{name}\" does not exist");
        if (IsEmpty(portal.Statement.Sql))
        {
            Begin('I');
            End();
            return;
        }
        await EnsureRunAsync(portal, ct);
        var rows = portal.Rows!;
        var end = maxRows > 0 ? Math.Min(rows.Count, portal.Position + maxRows) : rows.Count;
        for (; portal.Position < end; portal.Position++)
        {
            DataRow(rows[portal.Position]);
            if (_out.Length > OutputFlushBytes) await FlushAsync(ct);
        }
        if (portal.Position < rows.Count)
        {
            Begin('s'); // PortalSuspended: the client asked for at most maxRows; the rest waits for another Execute
            End();
            return;
        }
        CommandComplete(portal.Result!.CommandTag);
    }

    private void Close(byte[] body)
    {
        var kind = (char)body[0];
        var name = CString(body, 1, out _);
        if (kind == 'S') _statements.Remove(name);
        else if (kind == 'P') _portals.Remove(name);
        else throw new WireError("08P01", $"invalid Close kind '{kind}'");
        Begin('3');
        End();
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
            throw new WireError("08P01", $"bind message has {requested.Length} result formats but the query has {columns.Count} columns");
        var formats = new short[columns.Count];
        for (var i = 0; i < formats.Length; i++)
        {
            formats[i] = requested.Length == 0 ? (short)0 : requested[requested.Length == 1 ? 0 : i];
            if (formats[i] is not (0 or 1)) throw new WireError("08P01", $"invalid format code {formats[i]}");
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
                                 ?? throw new WireError("0A000", $"binary output of type {columns[i].TypeName} (column \"{columns[i].Name}\") is not supported; request text results");
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
        if (DiscardAll().IsMatch(trimmed)) return new SqlResult([], [], 0, "DISCARD ALL");
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
        catch (ProxyException e)
        {
            owner.Metrics?.Record("pgwire", e.Status, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            throw new WireError(SqlState(e), e.Message);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new WireError("57014", "canceling statement due to user request");
        }
        catch (Exception e) when (e is not OperationCanceledException and not WireError)
        {
            log.LogError(e, "PostgreSQL wire statement failed unexpectedly");
            throw new WireError("XX000", "internal error in the Authly proxy");
        }
        finally
        {
            Volatile.Write(ref _query, null);
        }
    }

    private async Task<ProxyPrincipal> PrincipalAsync(CancellationToken ct)
    {
        try { return await validator.AuthenticateAsync(_token!, ct); }
        catch (ProxyException e) when (e.Status == 401)
        {
            throw new WireError("28P01", "the access token has expired or was revoked; reconnect with a new one", fatal: true);
        }
        catch (ProxyException e) { throw new WireError("08006", e.Message); }
    }

    /// <summary>
    /// The SQLSTATE for a proxy refusal: PostgreSQL's own when the message carries it (a failed
    /// statement), else the class that matches the HTTP status.
    /// </summary>
    private static string SqlState(ProxyException e)
    {
        var m = SqlStateSuffix().Match(e.Message);
        if (m.Success) return m.Groups[1].Value;
        return e.Status switch
        {
            401 => "28000", 403 => "42501", 408 => "57014", 413 => "54000", 503 => "08006", 400 => "42601", _ => "XX000",
        };
    }

    private static int Placeholders(string sql)
    {
        try { return SqlClassifier.MaxPlaceholder(sql); }
        catch (SqlRejectedException) { return 0; }
    }

    private static bool IsEmpty(string sql) => sql.All(c => char.IsWhiteSpace(c) || c == ';');

    /// <summary>psql sends statements with their terminating semicolon; the proxy takes one statement without it.</summary>
    private static string Trim(string sql) => sql.TrimEnd().TrimEnd(';').TrimEnd();

    [GeneratedRegex(@"\(SQLSTATE ([0-9A-Z]{5})\)$")]
    private static partial Regex SqlStateSuffix();

    [GeneratedRegex(@"^\s*DISCARD\s+ALL\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex DiscardAll();

    [GeneratedRegex(@"\bRETURNING\b", RegexOptions.IgnoreCase)]
    private static partial Regex ReturningWord();

    // ------------------------------------------------------------------ backend messages

    private void ReadyForQuery()
    {
        Begin('Z');
        _out.WriteByte((byte)'I');
        End();
    }

    private void NoData()
    {
        Begin('n');
        End();
    }

    private void CommandComplete(string tag)
    {
        Begin('C');
        CString(tag);
        End();
    }

    private void RowDescription(IReadOnlyList<SqlColumn> columns, short[] formats)
    {
        Begin('T');
        Int16((short)columns.Count);
        for (var i = 0; i < columns.Count; i++)
        {
            CString(columns[i].Name);
            Int32(0); // table oid: not known through the proxy
            Int16(0); // column number
            Int32(unchecked((int)columns[i].TypeOid));
            Int16(-1); // typlen
            Int32(-1); // typmod
            Int16(formats[i]);
        }
        End();
    }

    private void DataRow(byte[]?[] values)
    {
        Begin('D');
        Int16((short)values.Length);
        foreach (var v in values)
        {
            Int32(v?.Length ?? -1);
            if (v is not null) _out.Write(v);
        }
        End();
    }

    private void Error(string severity, string sqlState, string message)
    {
        Begin('E');
        _out.WriteByte((byte)'S'); CString(severity);
        _out.WriteByte((byte)'V'); CString(severity);
        _out.WriteByte((byte)'C'); CString(sqlState);
        _out.WriteByte((byte)'M'); CString(message);
        _out.WriteByte(0);
        End();
    }

    private long _lengthAt;

    private void Begin(char type)
    {
        _out.WriteByte((byte)type);
        _lengthAt = _out.Length;
        Int32(0);
    }

    private void End() => BinaryPrimitives.WriteInt32BigEndian(_out.GetBuffer().AsSpan((int)_lengthAt), (int)(_out.Length - _lengthAt));

    private void Int16(short v)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteInt16BigEndian(b, v);
        _out.Write(b);
    }

    private void Int32(int v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, v);
        _out.Write(b);
    }

    private void CString(string s)
    {
        // A NUL would end the string early on the client; PostgreSQL text never holds one.
        _out.Write(Encoding.UTF8.GetBytes(s.Replace('\0', ' ')));
        _out.WriteByte(0);
    }

    private async Task FlushAsync(CancellationToken ct)
    {
        if (_out.Length == 0) return;
        await stream.WriteAsync(_out.GetBuffer().AsMemory(0, (int)_out.Length), ct);
        await stream.FlushAsync(ct);
        _out.SetLength(0);
    }

    // ------------------------------------------------------------------ frontend message parsing

    private static string CString(ReadOnlySpan<byte> body, int start, out int next)
    {
        if (start >= body.Length) throw new WireError("08P01", "invalid message format", fatal: true);
        var end = body[start..].IndexOf((byte)0);
        if (end < 0) throw new WireError("08P01", "invalid string in message", fatal: true);
        next = start + end + 1;
        return Encoding.UTF8.GetString(body.Slice(start, end));
    }

    private static short[] ReadInt16s(byte[] body, ref int pos)
    {
        var count = BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(pos));
        pos += 2;
        var values = new short[count];
        for (var i = 0; i < count; i++, pos += 2) values[i] = BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(pos));
        return values;
    }

    /// <summary>Buffered reads, so the session can tell whether the client has more messages queued before it flushes replies.</summary>
    private sealed class Input(Stream stream)
    {
        private readonly byte[] _buffer = new byte[16 * 1024];
        private int _start, _end;

        public bool HasBuffered => _end > _start;

        /// <returns>false at a clean end of stream before the first byte, when <paramref name="eofOk"/></returns>
        public async ValueTask<bool> ReadExactlyAsync(Memory<byte> destination, bool eofOk, CancellationToken ct)
        {
            var filled = 0;
            while (filled < destination.Length)
            {
                if (_start == _end)
                {
                    if (destination.Length - filled >= _buffer.Length)
                    {
                        var direct = await stream.ReadAsync(destination[filled..], ct);
                        if (direct == 0) throw new EndOfStreamException();
                        filled += direct;
                        continue;
                    }
                    _start = 0;
                    _end = await stream.ReadAsync(_buffer, ct);
                    if (_end == 0)
                    {
                        if (filled == 0 && eofOk) return false;
                        throw new EndOfStreamException();
                    }
                }
                var take = Math.Min(_end - _start, destination.Length - filled);
                _buffer.AsMemory(_start, take).CopyTo(destination[filled..]);
                _start += take;
                filled += take;
            }
            return true;
        }
    }
}
