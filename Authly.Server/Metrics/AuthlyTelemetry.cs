using System.Diagnostics.Metrics;
using Authly.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Authly.Server.Metrics;

/// <summary>
/// OpenTelemetry for Authly: the metrics SDK behind GET /metrics (the Prometheus exporter) always,
/// and traces (plus metrics) over OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT is set. The standard
/// OTEL_* variables (OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_TRACES_SAMPLER, OTEL_BSP_*, ...) are read by the
/// SDK from the configuration; OTEL_SERVICE_NAME defaults to "authly".
/// </summary>
public static class AuthlyTelemetry
{
    public const string DefaultServiceName = "authly";

    /// <summary>The histogram buckets /metrics has always had (seconds); the dashboard's quantiles are computed from them.</summary>
    public static readonly double[] Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public static bool TracingEnabled(IConfiguration config) => !string.IsNullOrWhiteSpace(config["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    public static void AddAuthlyTelemetry(this IServiceCollection services, IConfiguration config)
    {
        var otel = services.AddOpenTelemetry().ConfigureResource(r => r.AddService(
            config["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : DefaultServiceName, serviceVersion: AuthlyWebApp.Version));
        var otlp = TracingEnabled(config);
        var meter = AuthlyMetrics.MeterIdentity.Next();
        services.AddSingleton(meter);
        otel.WithMetrics(m =>
        {
            m.AddAuthlyMeters(meter.Name, "Npgsql").AddPrometheusExporter(ConfigurePrometheus);
            if (otlp) m.AddOtlpExporter();
        });
        // Off (no listener on any source) unless an endpoint is set: ActivitySource.StartActivity then returns null.
        if (otlp) otel.WithTracing(t => t.AddAuthlySources().AddOtlpExporter());
    }

    /// <summary>The meters, with the names and buckets the hand-written exporter gave them (the dashboard and the tests pin them).</summary>
    public static MeterProviderBuilder AddAuthlyMeters(this MeterProviderBuilder m, params string[] meters) =>
        m.AddMeter(meters).AddView(instrument => instrument switch
        {
            // Npgsql's pool instruments (db.client.connection.count ...) keep their authly_ prefixed names.
            { Meter.Name: "Npgsql" } => instrument is Histogram<double>
                ? new ExplicitBucketHistogramConfiguration { Name = PrefixedName(instrument), Boundaries = Buckets }
                : new MetricStreamConfiguration { Name = PrefixedName(instrument) },
            Histogram<double> => new ExplicitBucketHistogramConfiguration { Boundaries = Buckets },
            _ => null,
        });

    private static string PrefixedName(Instrument i) =>
        "authly_" + new string(i.Name.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_').ToArray());

    /// <summary>
    /// Prometheus text 0.0.4 as before: no otel_scope_* labels and no target_info series (the label sets are pinned), and no
    /// response cache (a scrape right after a request must see it).
    /// </summary>
    public static void ConfigurePrometheus(PrometheusAspNetCoreOptions o)
    {
        o.ScrapeResponseCacheDurationMilliseconds = 0;
        o.ScopeInfoEnabled = false;
        o.TargetInfoEnabled = false;
    }

    /// <summary>
    /// The spans Authly exports: its own (token per grant, authorize, introspect, Redis), Npgsql's (every
    /// command), the incoming HTTP request and outgoing HttpClient calls (the vault's upstream token
    /// endpoints). Query strings are redacted by both instrumentations; bodies and headers are never recorded.
    /// </summary>
    public static TracerProviderBuilder AddAuthlySources(this TracerProviderBuilder t) =>
        t.AddSource(AuthlyTracing.SourceName, "Npgsql")
            .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/metrics") && !http.Request.Path.StartsWithSegments("/health"))
            .AddHttpClientInstrumentation();
}
