using System.Text;
using Authly.Proxy;
using CsCheck;

namespace Authly.Tests.Properties;

/// <summary>
/// The Redis proxy's RESP reader under generated input (CsCheck): arbitrary bytes are read or refused with
/// <see cref="InvalidDataException"/> (the one "peer broke the protocol" signal) and nothing else; and what
/// <see cref="RespWriter"/> encodes reads back as the same value, however the bytes are split across reads.
/// </summary>
[TestFixture, Category("Properties")]
public sealed class RespReaderProperties
{
    /// <summary>Hands out the bytes a few at a time, so values straddle the reader's refills.</summary>
    private sealed class TrickleStream(byte[] data, int chunk) : Stream
    {
        private int _position;
        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(Math.Min(count, chunk), data.Length - _position);
            Buffer.BlockCopy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static readonly string[] Pieces = ["*", "$", "+", "-", ":", "\r\n", "\n", "\r", "-1", "0", "1", "2", "3", "99999999999999999999", "OK", "GET", " ", "\0"];

    private static readonly Gen<byte[]> ArbitraryBytes = Gen.OneOf(
        Gen.Byte.Array[0, 64],
        Gen.Int[0, Pieces.Length - 1].Array[0, 24].Select(ix => Encoding.ASCII.GetBytes(string.Concat(ix.Select(i => Pieces[i])))));

    private static async Task<int> DrainAsync(RespReader reader, bool commands)
    {
        var values = 0;
        while (commands ? await reader.ReadCommandAsync(CancellationToken.None) is not null : await reader.ReadAsync(CancellationToken.None) is not null)
            values++;
        return values;
    }

    [Test]
    public void Read_ArbitraryBytes_ReadsOrThrowsOnlyInvalidData() =>
        Gen.Select(ArbitraryBytes, Gen.Int[1, 7], Gen.Bool).Sample((bytes, chunk, commands) =>
        {
            var reader = new RespReader(new TrickleStream(bytes, chunk), maxBulkBytes: 1024, maxArrayItems: 64);
            try { DrainAsync(reader, commands).GetAwaiter().GetResult(); }
            catch (InvalidDataException) { }
        }, iter: 10_000);

    private static readonly Gen<byte[]> LineSafe = Gen.Byte.Array[0, 12].Select(b => b.Where(x => x is not ((byte)'\r' or (byte)'\n')).ToArray());

    private static readonly Gen<RespValue> Leaf = Gen.OneOf(
        LineSafe.Select(b => new RespValue(RespKind.Simple, b)),
        LineSafe.Select(b => new RespValue(RespKind.Error, b)),
        Gen.Long.Select(RespValue.Int),
        Gen.Byte.Array[0, 40].Select(RespValue.Bulk),
        Gen.Const(RespValue.NullBulk),
        Gen.Const(new RespValue(RespKind.NullArray)));

    private static readonly Gen<RespValue> Value = Gen.Recursive<RespValue>((depth, self) => depth >= 3
        ? Leaf
        : Gen.Frequency((3, Leaf), (1, self.Array[0, 4].Select(items => RespValue.Array(items)))));

    private static string Show(RespValue v) => v.Kind switch
    {
        RespKind.Integer => $":{v.Integer}",
        RespKind.Array => $"[{string.Join(", ", v.Items!.Select(Show))}]",
        RespKind.Null or RespKind.NullArray => v.Kind.ToString(),
        _ => $"{v.Kind}({Convert.ToHexString(v.Bytes!)})",
    };

    [Test]
    public void EncodeThenRead_IsIdentity_AcrossAnySplit() =>
        Gen.Select(Value.Array[1, 4], Gen.Int[1, 9]).Sample((values, chunk) =>
        {
            var wire = values.SelectMany(RespWriter.Encode).ToArray();
            var reader = new RespReader(new TrickleStream(wire, chunk));
            var read = new List<RespValue>();
            while (reader.ReadAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult() is { } v) read.Add(v);
            Assert.That(string.Join(" ", read.Select(Show)), Is.EqualTo(string.Join(" ", values.Select(Show))));
        }, iter: 2_000);

    [Test]
    public void CommandThenReadCommand_IsIdentity() =>
        Gen.Select(Gen.Byte.Array[0, 30].Array[1, 6], Gen.Int[1, 9]).Sample((args, chunk) =>
        {
            var reader = new RespReader(new TrickleStream(RespWriter.Command(args), chunk));
            var read = reader.ReadCommandAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
            Assert.That(read!.Select(Convert.ToHexString), Is.EqualTo(args.Select(Convert.ToHexString)));
            Assert.That(reader.ReadCommandAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult(), Is.Null, "nothing left over");
        }, iter: 1_000);
}
