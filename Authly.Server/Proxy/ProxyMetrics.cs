using System.Diagnostics.Metrics;
using Authly.Server.Metrics;

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
    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    public PrometheusExporter Exporter { get; }
    private readonly string _proxy;

    public ProxyMetrics(string proxy)
    {
        _proxy = proxy;
        _requests = _meter.CreateCounter<long>("authly_proxy_requests_total", description: "Proxied requests and commands by proxy, transport and outcome");
        _duration = _meter.CreateHistogram<double>("authly_proxy_request_duration_seconds", "s", "Proxied request duration by proxy and transport");
        var meter = _meter;
        Exporter = new PrometheusExporter(i => ReferenceEquals(i.Meter, meter) || i.Meter.Name == "Npgsql");
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
        Exporter.Dispose();
        _meter.Dispose();
    }
}
