using Authly.Proxy;
using System.Buffers.Binary;
using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace Authly.Server.Proxy;

/// <summary>
/// Converts between the CLR values <see cref="Authly.Proxy.PostgresProxy"/> reads with Npgsql and the
/// PostgreSQL wire formats (protocol §55.2 "data formats"), so a client of <see cref="PgWireListener"/>
/// sees what PostgreSQL itself would have sent: text output as psql prints it (DateStyle ISO,
/// TimeZone UTC, extra_float_digits 1), and the binary format for the common scalar types and their
/// one-dimensional arrays, because drivers such as Npgsql ask for binary by default.
/// </summary>
public static class PgWireValues
{
    public const uint Bool = 16, Bytea = 17, Char = 18, Name = 19, Int8 = 20, Int2 = 21, Int4 = 23, Text = 25, Oid = 26,
        Json = 114, Float4 = 700, Float8 = 701, Unknown = 705, Bpchar = 1042, Varchar = 1043, Date = 1082, Time = 1083,
        Timestamp = 1114, TimestampTz = 1184, Interval = 1186, TimeTz = 1266, Numeric = 1700, Uuid = 2950, Jsonb = 3802;

    private static readonly DateTime PgEpoch = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);
    private static readonly DateOnly PgEpochDate = new(2000, 1, 1);

    /// <summary>The element type of the array types this codec knows (pg_type.typelem), or 0.</summary>
    public static uint ElementType(uint arrayOid) => arrayOid switch
    {
        1000 => Bool, 1001 => Bytea, 1002 => Char, 1003 => Name, 1016 => Int8, 1005 => Int2, 1007 => Int4, 1009 => Text,
        1028 => Oid, 199 => Json, 1021 => Float4, 1022 => Float8, 1014 => Bpchar, 1015 => Varchar, 1182 => Date,
        1183 => Time, 1115 => Timestamp, 1185 => TimestampTz, 1187 => Interval, 1270 => TimeTz, 1231 => Numeric,
        2951 => Uuid, 3807 => Jsonb, _ => 0,
    };

    // ---------------------------------------------------------------- text output

    /// <summary>A value's text form as PostgreSQL's output function would write it; null for SQL NULL.</summary>
    public static string? ToText(object? value, uint typeOid)
    {
        switch (value)
        {
            case null or DBNull: return null;
            case string s: return s;
            case bool b: return b ? "t" : "f";
            case double d: return FloatText(d, 15);
            case float f: return FloatText(f, 6);
            case decimal m: return m.ToString(CultureInfo.InvariantCulture);
            case byte[] bytes: return "\\x" + Convert.ToHexStringLower(bytes);
            case Guid g: return g.ToString("D");
            case char c: return c.ToString();
            case DateTime dt: return DateTimeText(dt, typeOid);
            case DateOnly d: return d == DateOnly.MaxValue ? "infinity" : d == DateOnly.MinValue ? "-infinity" : d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            case TimeOnly t: return TimeText(t.ToTimeSpan());
            case TimeSpan ts: return typeOid == Interval ? IntervalText(ts) : TimeText(ts);
            case NpgsqlTypes.NpgsqlInterval iv: return PgInterval.Text(iv);
            case DateTimeOffset dto when typeOid == TimeTz: return TimeText(dto.TimeOfDay) + OffsetText(dto.Offset);
            case DateTimeOffset dto: return DateTimeText(dto.UtcDateTime, TimestampTz);
            case BitArray bits:
                var sb = new StringBuilder(bits.Length);
                for (var i = 0; i < bits.Length; i++) sb.Append(bits[i] ? '1' : '0');
                return sb.ToString();
            case Array a: return ArrayText(a, ElementType(typeOid));
            case IFormattable f: return f.ToString(null, CultureInfo.InvariantCulture);
            default: return value.ToString();
        }
    }

    /// <summary>
    /// PostgreSQL 12+ prints floats as the shortest text that reads back exactly, in exponent form
    /// below 1e-4 or from 1e15 (1e6 for real); .NET's "R" finds the same digits but places the exponent differently.
    /// </summary>
    public static string FloatText(double v, int exponentFrom)
    {
        if (double.IsNaN(v)) return "NaN";
        if (double.IsPositiveInfinity(v)) return "Infinity";
        if (double.IsNegativeInfinity(v)) return "-Infinity";
        if (v == 0) return double.IsNegative(v) ? "-0" : "0";
        // Shortest round-trip digits of the value in its own precision, written as digits and an exponent.
        var shortest = exponentFrom == 6
            ? ShortestE(((float)Math.Abs(v)).ToString("R", CultureInfo.InvariantCulture))
            : ShortestE(Math.Abs(v).ToString("R", CultureInfo.InvariantCulture));
        var e = shortest.IndexOf('E');
        var digits = shortest[..e].Replace(".", "");
        var exponent = int.Parse(shortest[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var sign = v < 0 ? "-" : "";
        if (exponent < -4 || exponent >= exponentFrom)
        {
            var mantissa = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
            return $"{sign}{mantissa}e{(exponent < 0 ? '-' : '+')}{Math.Abs(exponent):00}";
        }
        if (exponent < 0) return sign + "0." + new string('0', -exponent - 1) + digits;
        if (digits.Length <= exponent + 1) return sign + digits + new string('0', exponent + 1 - digits.Length);
        return sign + digits[..(exponent + 1)] + "." + digits[(exponent + 1)..];
    }

    /// <summary>Rewrites .NET's round-trip text ("123.45", "1E-05", "1.5E+20") as significant digits and a decimal exponent.</summary>
    private static string ShortestE(string r)
    {
        int exponent;
        string mantissa;
        var e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            mantissa = r[..e];
            exponent = int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }
        else
        {
            mantissa = r;
            exponent = 0;
        }
        var dot = mantissa.IndexOf('.');
        var intPart = dot < 0 ? mantissa : mantissa[..dot];
        var frac = dot < 0 ? "" : mantissa[(dot + 1)..];
        var all = intPart + frac;
        var lead = 0;
        while (lead < all.Length - 1 && all[lead] == '0') lead++;
        // value = 0.all × 10^(intPart.Length + exponent); the first significant digit sits at position lead.
        var pointExponent = intPart.Length + exponent - lead - 1;
        var digits = all[lead..].TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        return digits + "E" + pointExponent.ToString(CultureInfo.InvariantCulture);
    }

    private static string DateTimeText(DateTime dt, uint typeOid)
    {
        if (dt == DateTime.MaxValue) return "infinity";
        if (dt == DateTime.MinValue) return "-infinity";
        if (typeOid == Date) return dt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var text = dt.ToString("yyyy-MM-dd HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture);
        // The session runs with TimeZone UTC, so timestamptz prints with +00, as PostgreSQL does.
        return typeOid == TimestampTz || (typeOid != Timestamp && dt.Kind == DateTimeKind.Utc) ? text + "+00" : text;
    }

    private static string TimeText(TimeSpan t)
    {
        var micros = t.Ticks / 10;
        var seconds = micros / 1_000_000;
        var fraction = micros % 1_000_000;
        var text = $"{seconds / 3600:00}:{seconds / 60 % 60:00}:{seconds % 60:00}";
        return fraction == 0 ? text : text + "." + fraction.ToString("000000", CultureInfo.InvariantCulture).TrimEnd('0');
    }

    private static string OffsetText(TimeSpan offset)
    {
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        var a = offset.Duration();
        return a.Minutes == 0 ? $"{sign}{a.Hours:00}" : $"{sign}{a.Hours:00}:{a.Minutes:00}";
    }

    /// <summary>IntervalStyle postgres: "3 days 04:05:06", "1 day", "-02:00:00".</summary>
    private static string IntervalText(TimeSpan ts)
    {
        var days = ts.Days;
        var rest = ts - TimeSpan.FromDays(days);
        var parts = new List<string>();
        if (days != 0) parts.Add($"{days} day{(Math.Abs(days) == 1 ? "" : "s")}");
        if (rest != TimeSpan.Zero || days == 0) parts.Add((rest < TimeSpan.Zero ? "-" : "") + TimeText(rest.Duration()));
        return string.Join(' ', parts);
    }

    /// <summary>Array output: {a,b}, nested braces per dimension, NULL, and double quotes around elements that need them.</summary>
    private static string ArrayText(Array a, uint elementOid)
    {
        var sb = new StringBuilder();
        var index = new int[a.Rank];
        AppendDimension(sb, a, 0, index, elementOid);
        return sb.ToString();
    }

    private static void AppendDimension(StringBuilder sb, Array a, int dim, int[] index, uint elementOid)
    {
        sb.Append('{');
        for (var i = 0; i < a.GetLength(dim); i++)
        {
            if (i > 0) sb.Append(',');
            index[dim] = i;
            if (dim < a.Rank - 1) { AppendDimension(sb, a, dim + 1, index, elementOid); continue; }
            var text = ToText(a.GetValue(index), elementOid);
            if (text is null) sb.Append("NULL");
            else if (NeedsQuotes(text)) sb.Append('"').Append(text.Replace("\\", "\\\\").Replace("\"", "\\\"")).Append('"');
            else sb.Append(text);
        }
        sb.Append('}');
    }

    private static bool NeedsQuotes(string s) =>
        s.Length == 0 || s.Equals("NULL", StringComparison.OrdinalIgnoreCase)
        || s.Any(c => c is '{' or '}' or ',' or '"' or '\\' or ' ' or '\t' or '\n' or '\r' or '\v' or '\f');

    // ---------------------------------------------------------------- binary output

    /// <summary>A value in PostgreSQL's binary format for <paramref name="typeOid"/>; null when this codec cannot write that type.</summary>
    public static byte[]? ToBinary(object value, uint typeOid)
    {
        switch (typeOid)
        {
            case Bool when value is bool b: return [(byte)(b ? 1 : 0)];
            case Bytea when value is byte[] bytes: return bytes;
            case Int2: return Big16(Convert.ToInt16(value, CultureInfo.InvariantCulture));
            case Int4: return Big32(Convert.ToInt32(value, CultureInfo.InvariantCulture));
            case Int8: return Big64(Convert.ToInt64(value, CultureInfo.InvariantCulture));
            case Oid: return Big32(unchecked((int)Convert.ToUInt32(value, CultureInfo.InvariantCulture)));
            case Float4 when value is float or double:
                return Big32(BitConverter.SingleToInt32Bits(Convert.ToSingle(value, CultureInfo.InvariantCulture)));
            case Float8 when value is float or double:
                return Big64(BitConverter.DoubleToInt64Bits(Convert.ToDouble(value, CultureInfo.InvariantCulture)));
            case Text or Varchar or Bpchar or Name or Json or Unknown or Char when value is string or char:
                return Encoding.UTF8.GetBytes(value.ToString()!);
            case Jsonb when value is string s: return [1, .. Encoding.UTF8.GetBytes(s)];
            case Uuid when value is Guid g: return g.ToByteArray(bigEndian: true);
            case Date when value is DateTime or DateOnly:
                var date = value is DateOnly d ? d : DateOnly.FromDateTime((DateTime)value);
                return Big32(date == DateOnly.MaxValue || (value is DateTime dmax && dmax == DateTime.MaxValue) ? int.MaxValue
                    : date == DateOnly.MinValue ? int.MinValue : date.DayNumber - PgEpochDate.DayNumber);
            case Timestamp or TimestampTz when value is DateTime dt:
                return Big64(dt == DateTime.MaxValue ? long.MaxValue : dt == DateTime.MinValue ? long.MinValue
                    : (DateTime.SpecifyKind(dt, DateTimeKind.Unspecified) - PgEpoch).Ticks / 10);
            case TimestampTz when value is DateTimeOffset dto: return Big64((DateTime.SpecifyKind(dto.UtcDateTime, DateTimeKind.Unspecified) - PgEpoch).Ticks / 10);
            case Time when value is TimeSpan or TimeOnly:
                return Big64((value is TimeOnly t ? t.ToTimeSpan() : (TimeSpan)value).Ticks / 10);
            case Interval when value is NpgsqlTypes.NpgsqlInterval iv: return [.. Big64(iv.Time), .. Big32(iv.Days), .. Big32(iv.Months)];
            case Interval when value is TimeSpan span:
                var days = span.Days;
                return [.. Big64((span - TimeSpan.FromDays(days)).Ticks / 10), .. Big32(days), .. Big32(0)];
            case Numeric when value is decimal m: return NumericBinary(m.ToString(CultureInfo.InvariantCulture));
            case Numeric when value is string s && (s == "NaN" || decimal.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _)): return NumericBinary(s);
        }
        if (value is Array a && a.Rank == 1 && ElementType(typeOid) is var element and not 0) return ArrayBinary(a, element);
        return null;
    }

    /// <summary>numeric's binary form: base-10000 digits with a weight, a sign and the display scale.</summary>
    private static byte[] NumericBinary(string text)
    {
        if (text == "NaN") return [0, 0, 0, 0, 0xC0, 0, 0, 0];
        var negative = text.StartsWith('-');
        text = text.TrimStart('-', '+');
        var dot = text.IndexOf('.');
        var intPart = (dot < 0 ? text : text[..dot]).TrimStart('0');
        var frac = dot < 0 ? "" : text[(dot + 1)..];
        var scale = frac.Length;
        intPart = intPart.PadLeft((intPart.Length + 3) / 4 * 4, '0');
        frac = frac.PadRight((frac.Length + 3) / 4 * 4, '0');
        var groups = new List<short>();
        for (var i = 0; i < intPart.Length; i += 4) groups.Add(short.Parse(intPart.AsSpan(i, 4), CultureInfo.InvariantCulture));
        var weight = groups.Count - 1;
        for (var i = 0; i < frac.Length; i += 4) groups.Add(short.Parse(frac.AsSpan(i, 4), CultureInfo.InvariantCulture));
        while (groups.Count > 0 && groups[0] == 0) { groups.RemoveAt(0); weight--; }
        while (groups.Count > 0 && groups[^1] == 0) groups.RemoveAt(groups.Count - 1);
        if (groups.Count == 0) weight = 0;
        var result = new byte[8 + groups.Count * 2];
        BinaryPrimitives.WriteInt16BigEndian(result, (short)groups.Count);
        BinaryPrimitives.WriteInt16BigEndian(result.AsSpan(2), (short)weight);
        BinaryPrimitives.WriteUInt16BigEndian(result.AsSpan(4), (ushort)(negative && groups.Count > 0 ? 0x4000 : 0));
        BinaryPrimitives.WriteInt16BigEndian(result.AsSpan(6), (short)scale);
        for (var i = 0; i < groups.Count; i++) BinaryPrimitives.WriteInt16BigEndian(result.AsSpan(8 + i * 2), groups[i]);
        return result;
    }

    private static byte[]? ArrayBinary(Array a, uint elementOid)
    {
        using var ms = new MemoryStream();
        var hasNull = false;
        var elements = new List<byte[]?>();
        foreach (var item in a)
        {
            if (item is null or DBNull) { hasNull = true; elements.Add(null); continue; }
            var bytes = ToBinary(item, elementOid);
            if (bytes is null) return null;
            elements.Add(bytes);
        }
        ms.Write(Big32(a.Length == 0 ? 0 : 1));
        ms.Write(Big32(hasNull ? 1 : 0));
        ms.Write(Big32(unchecked((int)elementOid)));
        if (a.Length > 0)
        {
            ms.Write(Big32(a.Length));
            ms.Write(Big32(1));
        }
        foreach (var e in elements)
        {
            ms.Write(Big32(e?.Length ?? -1));
            if (e is not null) ms.Write(e);
        }
        return ms.ToArray();
    }

    // ---------------------------------------------------------------- binary input

    /// <summary>
    /// A binary-format parameter as the text PostgreSQL would accept for it: the proxy sends every
    /// parameter as text of unknown type and lets PostgreSQL infer the type from the statement.
    /// Null when this codec cannot read that type.
    /// </summary>
    public static string? FromBinary(ReadOnlySpan<byte> b, uint typeOid)
    {
        switch (typeOid)
        {
            case Bool when b.Length == 1: return b[0] != 0 ? "t" : "f";
            case Bytea: return "\\x" + Convert.ToHexStringLower(b);
            case Int2 when b.Length == 2: return BinaryPrimitives.ReadInt16BigEndian(b).ToString(CultureInfo.InvariantCulture);
            case Int4 when b.Length == 4: return BinaryPrimitives.ReadInt32BigEndian(b).ToString(CultureInfo.InvariantCulture);
            case Int8 when b.Length == 8: return BinaryPrimitives.ReadInt64BigEndian(b).ToString(CultureInfo.InvariantCulture);
            case Oid when b.Length == 4: return BinaryPrimitives.ReadUInt32BigEndian(b).ToString(CultureInfo.InvariantCulture);
            case Float4 when b.Length == 4: return FloatText(BinaryPrimitives.ReadSingleBigEndian(b), 6);
            case Float8 when b.Length == 8: return FloatText(BinaryPrimitives.ReadDoubleBigEndian(b), 15);
            case Text or Varchar or Bpchar or Name or Json or Unknown or Char: return Encoding.UTF8.GetString(b);
            case Jsonb when b.Length >= 1 && b[0] == 1: return Encoding.UTF8.GetString(b[1..]);
            case Uuid when b.Length == 16: return new Guid(b, bigEndian: true).ToString("D");
            case Date when b.Length == 4:
                var days = BinaryPrimitives.ReadInt32BigEndian(b);
                return days switch
                {
                    int.MaxValue => "infinity", int.MinValue => "-infinity",
                    _ => DateOnly.FromDayNumber(PgEpochDate.DayNumber + days).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                };
            case Timestamp or TimestampTz when b.Length == 8:
                var micros = BinaryPrimitives.ReadInt64BigEndian(b);
                if (micros == long.MaxValue) return "infinity";
                if (micros == long.MinValue) return "-infinity";
                return PgEpoch.AddTicks(micros * 10).ToString("yyyy-MM-dd HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture) + (typeOid == TimestampTz ? "+00" : "");
            case Time when b.Length == 8: return TimeText(TimeSpan.FromTicks(BinaryPrimitives.ReadInt64BigEndian(b) * 10));
            case Numeric when b.Length >= 8: return NumericText(b);
        }
        if (ElementType(typeOid) is var element and not 0) return ArrayFromBinary(b, element);
        return null;
    }

    private static string? NumericText(ReadOnlySpan<byte> b)
    {
        var count = BinaryPrimitives.ReadInt16BigEndian(b);
        var weight = BinaryPrimitives.ReadInt16BigEndian(b[2..]);
        var sign = BinaryPrimitives.ReadUInt16BigEndian(b[4..]);
        var scale = BinaryPrimitives.ReadInt16BigEndian(b[6..]);
        if (sign == 0xC000) return "NaN";
        if (sign == 0xD000) return "Infinity";
        if (sign == 0xF000) return "-Infinity";
        if (b.Length != 8 + count * 2 || scale < 0) return null;
        var value = BigInteger.Zero;
        for (var i = 0; i < count; i++) value = value * 10000 + BinaryPrimitives.ReadInt16BigEndian(b[(8 + i * 2)..]);
        // value × 10000^(weight - count + 1), shown with `scale` decimals.
        var exponent10 = (weight - count + 1) * 4;
        var shift = exponent10 + scale;
        var scaled = shift >= 0 ? value * BigInteger.Pow(10, shift) : value / BigInteger.Pow(10, -shift);
        var digits = scaled.ToString(CultureInfo.InvariantCulture).PadLeft(scale + 1, '0');
        var text = scale == 0 ? digits : digits[..^scale] + "." + digits[^scale..];
        return (sign == 0x4000 ? "-" : "") + text;
    }

    private static string? ArrayFromBinary(ReadOnlySpan<byte> b, uint elementOid)
    {
        if (b.Length < 12) return null;
        var dims = BinaryPrimitives.ReadInt32BigEndian(b);
        if (dims == 0) return "{}";
        if (dims != 1 || b.Length < 20) return null;
        var length = BinaryPrimitives.ReadInt32BigEndian(b[12..]);
        var pos = 20;
        var sb = new StringBuilder("{");
        for (var i = 0; i < length; i++)
        {
            if (pos + 4 > b.Length) return null;
            var len = BinaryPrimitives.ReadInt32BigEndian(b[pos..]);
            pos += 4;
            if (i > 0) sb.Append(',');
            if (len < 0) { sb.Append("NULL"); continue; }
            if (pos + len > b.Length) return null;
            var text = FromBinary(b.Slice(pos, len), elementOid);
            pos += len;
            if (text is null) return null;
            sb.Append(NeedsQuotes(text) ? "\"" + text.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"" : text);
        }
        return sb.Append('}').ToString();
    }

    private static byte[] Big16(short v) { var b = new byte[2]; BinaryPrimitives.WriteInt16BigEndian(b, v); return b; }
    private static byte[] Big32(int v) { var b = new byte[4]; BinaryPrimitives.WriteInt32BigEndian(b, v); return b; }
    private static byte[] Big64(long v) { var b = new byte[8]; BinaryPrimitives.WriteInt64BigEndian(b, v); return b; }
}
