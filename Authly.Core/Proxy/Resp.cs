using System.Buffers;
using System.Globalization;
using System.Text;

namespace Authly.Proxy;

/// <summary>
/// One RESP2 value, the Redis protocol's unit: what the proxy reads from Redis and from wire
/// clients, and writes back. Kept exact (a status is not a bulk string, an integer not a string)
/// so the RESP listener can hand a reply to redis-cli as Redis wrote it.
/// </summary>
public sealed record RespValue(RespKind Kind, byte[]? Bytes = null, long Integer = 0, IReadOnlyList<RespValue>? Items = null)
{
    public static readonly RespValue Ok = Simple("OK");
    public static readonly RespValue NullBulk = new(RespKind.Null);

    public static RespValue Simple(string s) => new(RespKind.Simple, Encoding.UTF8.GetBytes(s));
    public static RespValue Error(string s) => new(RespKind.Error, Encoding.UTF8.GetBytes(s.Replace('\r', ' ').Replace('\n', ' ')));
    public static RespValue Int(long n) => new(RespKind.Integer, Integer: n);
    public static RespValue Bulk(byte[] b) => new(RespKind.Bulk, b);
    public static RespValue Array(IReadOnlyList<RespValue> items) => new(RespKind.Array, Items: items);

    public string Text => Bytes is null ? "" : Encoding.UTF8.GetString(Bytes);
}

public enum RespKind { Simple, Error, Integer, Bulk, Array, Null, NullArray }


/// <summary>Reads RESP2 values from a stream, with limits so a peer cannot make it allocate without bound. A peer that breaks
/// the protocol (or a limit) gets <see cref="InvalidDataException"/>: the connection cannot continue, and nothing is answered.</summary>
public sealed class RespReader(Stream stream, int maxBulkBytes = 64 * 1024 * 1024, int maxArrayItems = 1024 * 1024)
{
    /// <summary>The largest bulk string accepted; a server lowers it for clients that have not logged in.</summary>
    public int MaxBulkBytes { get; set; } = maxBulkBytes;
    public int MaxArrayItems { get; set; } = maxArrayItems;

    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    /// <summary>The next value, or null at a clean end of stream (between values).</summary>
    public async ValueTask<RespValue?> ReadAsync(CancellationToken ct)
    {
        if (_start == _end && !await FillAsync(ct)) return null;
        return await ReadValueAsync(0, ct);
    }

    /// <summary>A client command: an array of bulk strings, or an inline command (space-separated words, as telnet sends).</summary>
    public async ValueTask<IReadOnlyList<byte[]>?> ReadCommandAsync(CancellationToken ct)
    {
        if (_start == _end && !await FillAsync(ct)) return null;
        if (_buffer[_start] != (byte)'*')
        {
            var line = await ReadLineAsync(ct);
            return Encoding.UTF8.GetString(line).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(Encoding.UTF8.GetBytes).ToArray();
        }
        var value = await ReadValueAsync(0, ct);
        if (value.Kind != RespKind.Array || value.Items!.Any(i => i.Kind != RespKind.Bulk))
            throw new InvalidDataException("expected an array of bulk strings");
        return value.Items!.Select(i => i.Bytes!).ToArray();
    }

    private async ValueTask<RespValue> ReadValueAsync(int depth, CancellationToken ct)
    {
        if (depth > 32) throw new InvalidDataException("nesting too deep");
        var line = await ReadLineAsync(ct);
        if (line.Length == 0) throw new InvalidDataException("empty line");
        var body = line.AsSpan(1);
        switch ((char)line[0])
        {
            case '+': return new RespValue(RespKind.Simple, body.ToArray());
            case '-': return new RespValue(RespKind.Error, body.ToArray());
            case ':': return RespValue.Int(Number(body));
            case '$':
            {
                var length = Number(body);
                if (length == -1) return RespValue.NullBulk;
                if (length < 0 || length > MaxBulkBytes) throw new InvalidDataException("bulk length out of range");
                var bytes = new byte[length];
                await ReadExactAsync(bytes, ct);
                var crlf = new byte[2];
                await ReadExactAsync(crlf, ct);
                if (crlf[0] != '\r' || crlf[1] != '\n') throw new InvalidDataException("bulk string not followed by CRLF");
                return RespValue.Bulk(bytes);
            }
            case '*':
            {
                var count = Number(body);
                if (count == -1) return new RespValue(RespKind.NullArray);
                if (count < 0 || count > MaxArrayItems) throw new InvalidDataException("array length out of range");
                var items = new RespValue[count];
                for (var i = 0; i < count; i++) items[i] = await ReadValueAsync(depth + 1, ct);
                return RespValue.Array(items);
            }
            default: throw new InvalidDataException($"unexpected type byte '{(char)line[0]}'");
        }
    }

    private static long Number(ReadOnlySpan<byte> s) =>
        long.TryParse(Encoding.ASCII.GetString(s), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? n : throw new InvalidDataException("malformed number");

    private async ValueTask<byte[]> ReadLineAsync(CancellationToken ct)
    {
        var scanned = _start;
        while (true)
        {
            var i = System.Array.IndexOf(_buffer, (byte)'\n', scanned, _end - scanned);
            if (i >= 0)
            {
                var stop = i > _start && _buffer[i - 1] == '\r' ? i - 1 : i;
                var line = _buffer.AsSpan(_start, stop - _start).ToArray();
                _start = i + 1;
                return line;
            }
            scanned = _end;
            if (_end - _start >= _buffer.Length) throw new InvalidDataException("line too long");
            var before = _end - _start;
            if (!await FillAsync(ct)) throw new InvalidDataException("connection closed mid-value");
            scanned = _start + before;
        }
    }

    private async ValueTask ReadExactAsync(byte[] into, CancellationToken ct)
    {
        var filled = 0;
        while (filled < into.Length)
        {
            if (_start == _end && !await FillAsync(ct)) throw new InvalidDataException("connection closed mid-value");
            var n = Math.Min(into.Length - filled, _end - _start);
            Buffer.BlockCopy(_buffer, _start, into, filled, n);
            _start += n;
            filled += n;
        }
    }

    /// <summary>Reads more bytes, compacting the buffer first; false at end of stream.</summary>
    private async ValueTask<bool> FillAsync(CancellationToken ct)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length) return true; // full: the caller consumes before asking again
        var n = await stream.ReadAsync(_buffer.AsMemory(_end), ct);
        if (n == 0) return false;
        _end += n;
        return true;
    }
}

/// <summary>Writes RESP2 values and commands.</summary>
public static class RespWriter
{
    public static byte[] Command(IReadOnlyList<byte[]> args)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Ascii(buffer, $"*{args.Count}\r\n");
        foreach (var a in args) BulkTo(buffer, a);
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Encode(RespValue value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Write(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    private static void Write(ArrayBufferWriter<byte> b, RespValue v)
    {
        switch (v.Kind)
        {
            case RespKind.Simple: Ascii(b, "+"); b.Write(v.Bytes); Ascii(b, "\r\n"); break;
            case RespKind.Error: Ascii(b, "-"); b.Write(v.Bytes); Ascii(b, "\r\n"); break;
            case RespKind.Integer: Ascii(b, $":{v.Integer.ToString(CultureInfo.InvariantCulture)}\r\n"); break;
            case RespKind.Bulk: BulkTo(b, v.Bytes!); break;
            case RespKind.Null: Ascii(b, "$-1\r\n"); break;
            case RespKind.NullArray: Ascii(b, "*-1\r\n"); break;
            case RespKind.Array:
                Ascii(b, $"*{v.Items!.Count.ToString(CultureInfo.InvariantCulture)}\r\n");
                foreach (var item in v.Items) Write(b, item);
                break;
        }
    }

    private static void BulkTo(ArrayBufferWriter<byte> b, byte[] bytes)
    {
        Ascii(b, $"${bytes.Length.ToString(CultureInfo.InvariantCulture)}\r\n");
        b.Write(bytes);
        Ascii(b, "\r\n");
    }

    private static void Ascii(ArrayBufferWriter<byte> b, string s) => b.Write(Encoding.ASCII.GetBytes(s));
}
