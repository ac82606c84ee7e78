using System.Globalization;
using NpgsqlTypes;

namespace Authly.Proxy;

/// <summary>
/// PostgreSQL's interval keeps months, days and time apart ('25 hours' is not '1 day 01:00:00'), so the
/// proxies read it as <see cref="NpgsqlInterval"/> and print it the way PostgreSQL's default
/// IntervalStyle (postgres) does: "1 year 2 mons 3 days 04:05:06.5", "-1 days", "00:00:00".
/// </summary>
public static class PgInterval
{
    public static string Text(NpgsqlInterval v)
    {
        var parts = new List<string>(4);
        // As PostgreSQL does: a positive field right after a negative one carries an explicit "+".
        var negativeBefore = false;
        void Field(long n, string unit)
        {
            if (n == 0) return;
            parts.Add((n > 0 && negativeBefore ? "+" : "") + n.ToString(CultureInfo.InvariantCulture) + " " + unit + (n == 1 ? "" : "s"));
            negativeBefore = n < 0;
        }
        Field(v.Months / 12, "year");
        Field(v.Months % 12, "mon");
        Field(v.Days, "day");
        if (v.Time != 0 || parts.Count == 0)
        {
            var micros = Math.Abs(v.Time);
            var seconds = micros / 1_000_000;
            var fraction = micros % 1_000_000;
            var time = string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600:00}:{seconds / 60 % 60:00}:{seconds % 60:00}");
            if (fraction != 0) time += "." + fraction.ToString("000000", CultureInfo.InvariantCulture).TrimEnd('0');
            parts.Add((v.Time < 0 ? "-" : negativeBefore ? "+" : "") + time);
        }
        return string.Join(' ', parts);
    }
}
