using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Authly.Server.Metrics;

/// <summary>
/// Collects the "Authly" meter with a MeterListener and writes the Prometheus text format
/// (version 0.0.4). Small on purpose: no exporter package restores here.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    private static readonly double[] Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(Instrument Instrument, string Labels), Series> _series = new();

    // Every request records two or three measurements, and building the label string (format,
    // sanitize, escape, sort, join) was a third of an introspection's CPU. The same few tag
    // combinations recur, so each is mapped to its series once, by its raw string values.
    private readonly ConcurrentDictionary<TagValues, Series> _byTagValues = new();
    private readonly record struct TagValues(Instrument Instrument, string? K0, string? V0, string? K1, string? V1, string? K2, string? V2);

    private sealed class Series
    {
        public double Value;
        public long Count;
        public readonly long[] BucketCounts = new long[Buckets.Length];
        public readonly Lock Gate = new();
    }

    // Npgsql's own meter gives the connection pool's state (db.client.connections.*).
    public PrometheusExporter() : this(i => i.Meter.Name is AuthlyMetrics.MeterName or "Npgsql") { }

    /// <param name="include">which instruments to collect (a proxy collects its own meter instance, not another one's in the same process)</param>
    public PrometheusExporter(Func<Instrument, bool> include)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (include(instrument)) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var series = SeriesFor(instrument, tags);
        lock (series.Gate)
        {
            switch (instrument)
            {
                case Histogram<double>:
                    series.Value += value;
                    series.Count++;
                    for (var b = 0; b < Buckets.Length; b++) if (value <= Buckets[b]) series.BucketCounts[b]++;
                    break;
                case { IsObservable: true }:
                    // Observable instruments report the current value (gauges, up-down counters) or running total.
                    series.Value = value;
                    break;
                default:
                    series.Value += value;
                    break;
            }
        }
    }

    private Series SeriesFor(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        // Only string values: other objects may not compare by value, and would grow the map.
        var cacheable = tags.Length <= 3;
        foreach (var tag in tags) cacheable &= tag.Value is string or null;
        if (!cacheable) return _series.GetOrAdd((instrument, Labels(tags)), _ => new Series());
        var key = new TagValues(instrument,
            tags.Length > 0 ? tags[0].Key : null, tags.Length > 0 ? (string?)tags[0].Value : null,
            tags.Length > 1 ? tags[1].Key : null, tags.Length > 1 ? (string?)tags[1].Value : null,
            tags.Length > 2 ? tags[2].Key : null, tags.Length > 2 ? (string?)tags[2].Value : null);
        if (_byTagValues.TryGetValue(key, out var series)) return series;
        series = _series.GetOrAdd((instrument, Labels(tags)), _ => new Series());
        _byTagValues.TryAdd(key, series);
        return series;
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0) return "";
        var parts = new List<string>(tags.Length);
        foreach (var (k, v) in tags) parts.Add($"{Sanitize(k)}=\"{Escape(Convert.ToString(v, CultureInfo.InvariantCulture) ?? "")}\"");
        parts.Sort(StringComparer.Ordinal);
        return string.Join(',', parts);
    }

    /// <summary>Prometheus names allow [a-zA-Z0-9_:] only.</summary>
    private static string Sanitize(string name) => new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_').ToArray());

    private static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    public string Write()
    {
        _listener.RecordObservableInstruments();
        var sb = new StringBuilder();
        foreach (var group in _series.GroupBy(kv => kv.Key.Instrument).OrderBy(g => g.Key.Name, StringComparer.Ordinal))
        {
            var instrument = group.Key;
            var name = PrometheusName(instrument);
            var type = instrument switch { Histogram<double> => "histogram", Counter<long> => "counter", _ => "gauge" };
            sb.Append("# HELP ").Append(name).Append(' ').Append(instrument.Description ?? name).Append('\n');
            sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            foreach (var ((_, labels), s) in group.OrderBy(kv => kv.Key.Labels, StringComparer.Ordinal))
            {
                lock (s.Gate)
                {
                    if (type != "histogram") { Line(sb, name, labels, s.Value); continue; }
                    long cumulative = 0;
                    for (var b = 0; b < Buckets.Length; b++)
                    {
                        cumulative = s.BucketCounts[b];
                        Line(sb, name + "_bucket", Join(labels, $"le=\"{Buckets[b].ToString(CultureInfo.InvariantCulture)}\""), cumulative);
                    }
                    Line(sb, name + "_bucket", Join(labels, "le=\"+Inf\""), s.Count);
                    Line(sb, name + "_sum", labels, s.Value);
                    Line(sb, name + "_count", labels, s.Count);
                }
            }
        }
        return sb.ToString();
    }

    /// <summary>Authly's names are already Prometheus names; others (db.client.connections.usage) are prefixed and sanitised.</summary>
    private static string PrometheusName(Instrument i) => i.Meter.Name is AuthlyMetrics.MeterName or Proxy.ProxyMetrics.MeterName
        ? i.Name
        : "authly_" + Sanitize(i.Name);

    private static string Join(string labels, string extra) => labels.Length == 0 ? extra : labels + "," + extra;

    private static void Line(StringBuilder sb, string name, string labels, double value)
    {
        sb.Append(name);
        if (labels.Length > 0) sb.Append('{').Append(labels).Append('}');
        sb.Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
    }

    public void Dispose() => _listener.Dispose();
}
