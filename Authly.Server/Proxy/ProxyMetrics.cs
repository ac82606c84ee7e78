using System.Diagnostics.Metrics;
using Authly.Server.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Authly.Server.Proxy;

/// <summary>
/// The proxy's /metrics: requests by transport (http, resp) and outcome (ok, unauthorized,
/// forbidden, bad_request, unavailable, …), durations, and Npgsql's pool state. One meter per proxy
/// instance, so two proxies in one process (the tests) never count each other's requests.
/// Labels hold no subject, client, key or statement: those are in the audit log.
/// </summary>
public sealed class ProxyMetrics : IDisposable
{
    public const string MeterName = "Authly.Proxy";
    private static int _instances;
    // A name of its own per instance: a meter provider subscribes by name, and must see this proxy's instruments only.
    private readonly Meter _meter = new($"{MeterName}.{Interlocked.Increment(ref _instances)}");
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    /// <summary>This proxy's meter provider, behind its /metrics (the Prometheus exporter).</summary>
    public MeterProvider Provider { get; }
    private readonly string _proxy;

    public ProxyMetrics(string proxy)
    {
        _proxy = proxy;
        _requests = _meter.CreateCounter<long>("authly_proxy_requests_total", description: "Proxied requests and commands by proxy, transport and outcome");
        _duration = _meter.CreateHistogram<double>("authly_proxy_request_duration_seconds", "s", "Proxied request duration by proxy and transport");
        Provider = Sdk.CreateMeterProviderBuilder().AddAuthlyMeters(_meter.Name, "Npgsql")
            .AddPrometheusExporter(AuthlyTelemetry.ConfigurePrometheus).Build();
    }

    public void Record(string transport, int status, TimeSpan elapsed)
    {
        var outcome = status switch
        {
            < 400 => "ok", 401 => "unauthorized", 403 => "forbidden", 408 => "timeout", 413 => "too_large",
            503 => "unavailable", >= 500 => "error", _ => "bad_request",
        };
        _requests.Add(1, new("proxy", _proxy), new("transport", transport), new("outcome", outcome));
        _duration.Record(elapsed.TotalSeconds, new("proxy", _proxy), new("transport", transport));
    }

    public void Dispose()
    {
        Provider.Dispose();
        _meter.Dispose();
    }
}
