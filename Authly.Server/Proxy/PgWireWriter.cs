using System.Buffers.Binary;
using System.Text;
using Authly.Proxy;

namespace Authly.Server.Proxy;

/// <summary>
/// The backend half of the PostgreSQL v3 protocol for <see cref="PgWireSession"/>: each backend message the
/// proxy sends, buffered until <see cref="FlushAsync"/> so pipelined requests get one write. Holds the one
/// mapper from <see cref="AuthlyException"/> to ErrorResponse (<see cref="ErrorResponse"/>).
/// </summary>
internal sealed class PgWireWriter(Stream stream)
{
    private readonly MemoryStream _out = new();
    private long _lengthAt;

    /// <summary>Bytes waiting to be flushed.</summary>
    public long Buffered => _out.Length;

    /// <summary>
    /// The ErrorResponse for <paramref name="e"/>: its <see cref="AuthlyException.Detail"/> as the message and the SQLSTATE
    /// <see cref="PgWireErrors.SqlStateOf"/> gives; FATAL when the connection ends with it, ERROR when the session goes on.
    /// </summary>
    public void ErrorResponse(AuthlyException e, bool fatal)
    {
        var severity = fatal ? "FATAL" : "ERROR";
        Begin('E');
        _out.WriteByte((byte)'S'); CString(severity);
        _out.WriteByte((byte)'V'); CString(severity);
        _out.WriteByte((byte)'C'); CString(PgWireErrors.SqlStateOf(e));
        _out.WriteByte((byte)'M'); CString(e.Detail);
        _out.WriteByte(0);
        End();
    }

    /// <summary>The one-byte answer to SSLRequest or GSSENCRequest: no encryption here (the listener serves loopback only).</summary>
    public void EncryptionRefused() => _out.WriteByte((byte)'N');

    /// <summary>NegotiateProtocolVersion (protocol §55.2.1): the minor version this server speaks and the options it does not know.</summary>
    public void NegotiateProtocolVersion(IReadOnlyList<string> unknownOptions)
    {
        Begin('v');
        Int32(0);
        Int32(unknownOptions.Count);
        foreach (var x in unknownOptions) CString(x);
        End();
    }

    /// <param name="code">3: AuthenticationCleartextPassword, 0: AuthenticationOk</param>
    public void Authentication(int code) => Simple('R', code);

    public void ParameterStatus(string name, string value)
    {
        Begin('S');
        CString(name);
        CString(value);
        End();
    }

    public void BackendKeyData(int processId, int secretKey)
    {
        Begin('K');
        Int32(processId);
        Int32(secretKey);
        End();
    }

    /// <summary>Always idle: every statement runs in a transaction of its own, so the session never is inside one.</summary>
    public void ReadyForQuery()
    {
        Begin('Z');
        _out.WriteByte((byte)'I');
        End();
    }

    public void EmptyQueryResponse() => Simple('I');
    public void ParseComplete() => Simple('1');
    public void BindComplete() => Simple('2');
    public void CloseComplete() => Simple('3');
    public void NoData() => Simple('n');
    /// <summary>The client asked for at most so many rows; the rest waits for another Execute.</summary>
    public void PortalSuspended() => Simple('s');

    public void ParameterDescription(IReadOnlyList<uint> typeOids)
    {
        Begin('t');
        Int16((short)typeOids.Count);
        foreach (var oid in typeOids) Int32(unchecked((int)oid));
        End();
    }

    public void CommandComplete(string tag)
    {
        Begin('C');
        CString(tag);
        End();
    }

    public void RowDescription(IReadOnlyList<SqlColumn> columns, short[] formats)
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

    public void DataRow(byte[]?[] values)
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

    public async Task FlushAsync(CancellationToken ct)
    {
        if (_out.Length == 0) return;
        await stream.WriteAsync(_out.GetBuffer().AsMemory(0, (int)_out.Length), ct);
        await stream.FlushAsync(ct);
        _out.SetLength(0);
    }

    private void Simple(char type, int? value = null)
    {
        Begin(type);
        if (value is { } v) Int32(v);
        End();
    }

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
}
