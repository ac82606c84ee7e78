using System.Buffers.Binary;
using System.Text;

namespace Authly.Server.Proxy;

/// <summary>
/// The frontend half of the PostgreSQL v3 protocol for <see cref="PgWireSession"/>: buffered reads of the
/// startup packet and of typed messages, and the parsing of each message body into a <see cref="Message"/>.
/// Everything it throws is a protocol violation (<see cref="PgWireErrors.Protocol"/>, or a message over the
/// limit), after which the stream cannot be trusted: the session ends the connection with a FATAL.
/// </summary>
internal sealed class PgWireReader(Stream stream)
{
    public const int MaxMessageBytes = 16 * 1024 * 1024;
    /// <summary>PostgreSQL's own limit for a startup packet.</summary>
    public const int MaxStartupBytes = 10_000;

    private readonly byte[] _buffer = new byte[16 * 1024];
    private int _start, _end;

    /// <summary>The client has sent more than has been read: replies can wait for the next message.</summary>
    public bool HasBuffered => _end > _start;

    /// <summary>A startup-phase packet (StartupMessage, SSLRequest, CancelRequest) without its length; null at a clean end of stream.</summary>
    public async Task<byte[]?> ReadStartupPacketAsync(CancellationToken ct)
    {
        var header = new byte[4];
        if (!await ReadExactlyAsync(header, eofOk: true, ct)) return null;
        var length = BinaryPrimitives.ReadInt32BigEndian(header);
        if (length is < 8 or > MaxStartupBytes) throw PgWireErrors.Protocol("invalid length of startup packet");
        var body = new byte[length - 4];
        await ReadExactlyAsync(body, eofOk: false, ct);
        return body;
    }

    /// <param name="limit">the largest body accepted; before authentication only a password fits (a token is at most 16 KiB)</param>
    public async Task<(byte Type, byte[] Body)> ReadMessageAsync(int limit, CancellationToken ct)
    {
        var header = new byte[5];
        if (!await ReadExactlyAsync(header, eofOk: true, ct)) throw new EndOfStreamException();
        var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
        if (length < 4) throw PgWireErrors.Protocol("invalid message length");
        if (length - 4 > limit) throw PgWireErrors.TooLong($"message of {length} bytes exceeds the limit of {limit}");
        var body = new byte[length - 4];
        await ReadExactlyAsync(body, eofOk: false, ct);
        return (header[0], body);
    }

    /// <summary>The name/value pairs of a StartupMessage (after its protocol version).</summary>
    public static Dictionary<string, string> StartupParameters(ReadOnlySpan<byte> body)
    {
        try
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
        catch (ArgumentOutOfRangeException) { throw PgWireErrors.Protocol("invalid startup packet layout"); }
    }

    /// <summary>The password of a PasswordMessage ('p'); any other message here breaks the authentication exchange.</summary>
    public static string Password(byte type, byte[] body) =>
        type == 'p' ? CString(body, 0, out _) : throw PgWireErrors.Protocol($"expected a password message, got '{(char)type}'");

    /// <summary>A frontend message of the query phase (protocol §55.7).</summary>
    public abstract record Message;
    public sealed record Query(string Sql) : Message;
    public sealed record Parse(string Name, string Sql, uint[] ParameterTypes) : Message;
    /// <param name="Values">each parameter as sent (null: SQL NULL), in <paramref name="ParameterFormats"/></param>
    public sealed record Bind(string Portal, string Statement, short[] ParameterFormats, byte[]?[] Values, short[] ResultFormats) : Message;
    public sealed record Describe(char Kind, string Name) : Message;
    public sealed record Execute(string Portal, int MaxRows) : Message;
    public sealed record Close(char Kind, string Name) : Message;
    public sealed record Sync : Message;
    public sealed record Flush : Message;
    /// <summary>The function call protocol ('F'): answered with an error, the session goes on.</summary>
    public sealed record FunctionCall : Message;
    /// <summary>COPY data, done or fail outside COPY: ignored, as PostgreSQL does.</summary>
    public sealed record CopyOutsideCopy : Message;

    /// <summary>The body of a message of the given type; a message shorter than its fields claim is a protocol violation.</summary>
    public static Message ParseMessage(byte type, byte[] body)
    {
        try
        {
            switch ((char)type)
            {
                case 'Q': return new Query(CString(body, 0, out _));
                case 'P':
                {
                    var name = CString(body, 0, out var pos);
                    var sql = CString(body, pos, out pos);
                    var count = Int16(body, ref pos);
                    var types = new uint[count];
                    for (var i = 0; i < count; i++, pos += 4) types[i] = BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(pos));
                    return new Parse(name, sql, types);
                }
                case 'B':
                {
                    var portal = CString(body, 0, out var pos);
                    var statement = CString(body, pos, out pos);
                    var formats = Int16s(body, ref pos);
                    var count = Int16(body, ref pos);
                    var values = new byte[]?[count];
                    for (var i = 0; i < count; i++)
                    {
                        var length = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(pos));
                        pos += 4;
                        if (length < 0) continue; // SQL NULL
                        values[i] = body.AsSpan(pos, length).ToArray();
                        pos += length;
                    }
                    return new Bind(portal, statement, formats, values, Int16s(body, ref pos));
                }
                case 'D': return new Describe((char)body[0], CString(body, 1, out _));
                case 'E':
                {
                    var portal = CString(body, 0, out var pos);
                    return new Execute(portal, BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(pos)));
                }
                case 'C': return new Close((char)body[0], CString(body, 1, out _));
                case 'S': return new Sync();
                case 'H': return new Flush();
                case 'F': return new FunctionCall();
                case 'd' or 'c' or 'f': return new CopyOutsideCopy();
                default: throw PgWireErrors.Protocol($"invalid frontend message type {type}");
            }
        }
        catch (Exception e) when (e is IndexOutOfRangeException or ArgumentOutOfRangeException or OverflowException)
        {
            throw PgWireErrors.Protocol("invalid message format");
        }
    }

    private static string CString(ReadOnlySpan<byte> body, int start, out int next)
    {
        if (start >= body.Length) throw PgWireErrors.Protocol("invalid message format");
        var end = body[start..].IndexOf((byte)0);
        if (end < 0) throw PgWireErrors.Protocol("invalid string in message");
        next = start + end + 1;
        return Encoding.UTF8.GetString(body.Slice(start, end));
    }

    private static short Int16(byte[] body, ref int pos)
    {
        var value = BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(pos));
        pos += 2;
        return value;
    }

    private static short[] Int16s(byte[] body, ref int pos)
    {
        var values = new short[Int16(body, ref pos)];
        for (var i = 0; i < values.Length; i++) values[i] = Int16(body, ref pos);
        return values;
    }

    /// <returns>false at a clean end of stream before the first byte, when <paramref name="eofOk"/></returns>
    private async ValueTask<bool> ReadExactlyAsync(Memory<byte> destination, bool eofOk, CancellationToken ct)
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
