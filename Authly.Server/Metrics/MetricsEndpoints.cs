using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Authly.Server.Metrics;

public static partial class MetricsEndpoints
{
    public const string RequestIdHeader = "X-Request-ID";

    /// <summary>
    /// GET /metrics: OpenTelemetry's Prometheus exporter (text 0.0.4, or OpenMetrics when the scraper asks for it), after
    /// refreshing the database-backed gauges.
    /// </summary>
    public static void MapMetricsEndpoint(this IEndpointRouteBuilder app)
    {
        var metrics = app.ServiceProvider.GetRequiredService<AuthlyMetrics>();
        app.MapPrometheusScrapingEndpoint("/metrics", meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (http, next) =>
        {
            await metrics.RefreshGaugesAsync(http.RequestAborted);
            await next(http);
        }), optionsName: null)
            // The exporter maps its path for every method; the contract is GET (a POST or PUT answers 405, as before).
            .WithMetadata(new HttpMethodMetadata(["GET", "HEAD"]))
            .WithTags("operations").WithSummary("Prometheus metrics");
    }

    /// <summary>
    /// Times every request and counts it by route template (never the raw path, which can carry
    /// ids), and gives it a correlation id: the caller's X-Request-ID when well-formed, else a new
    /// one; echoed in the response and attached to every log line of the request.
    /// </summary>
    /// <param name="logScopes">
    /// whether log lines carry scopes (JSON logs): only then is the id pushed as a log scope, which costs a dictionary and
    /// an async-local change per request (6% of a /health/live answer in issue 14's profile) that plain-text lines never show
    /// </param>
    public static IApplicationBuilder UseRequestMetricsAndCorrelation(this IApplicationBuilder app, bool logScopes)
    {
        // Both are singletons: resolved once here rather than per request (a container lookup and
        // the logger factory's lock each time). The RequestDelegate overload of Use: the Func<Task> one
        // allocates a closure per request.
        var metrics = app.ApplicationServices.GetRequiredService<AuthlyMetrics>();
        var log = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Authly.Request");
        return app.Use((http, next) => TrackAsync(http, next, metrics, logScopes ? log : null));
    }

    private static async Task TrackAsync(HttpContext http, RequestDelegate next, AuthlyMetrics metrics, ILogger? scopeLog)
    {
        var incoming = http.Request.Headers[RequestIdHeader].ToString();
        var requestId = incoming.Length is > 0 and <= 64 && SafeId().IsMatch(incoming) ? incoming : Guid.NewGuid().ToString("N");
        http.Response.Headers[RequestIdHeader] = requestId;
        var started = Stopwatch.GetTimestamp();
        using (scopeLog?.BeginScope(new Dictionary<string, object> { ["RequestId"] = requestId }))
        {
            try { await next(http); }
            finally
            {
                var route = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
                var method = new KeyValuePair<string, object?>("method", http.Request.Method);
                var routeTag = new KeyValuePair<string, object?>("route", route);
                metrics.HttpRequests.Add(1, method, routeTag, new("status", StatusText(http.Response.StatusCode)));
                metrics.HttpDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, method, routeTag);
            }
        }
    }

    // The status label without a new string per request (int.ToString allocates for values over 299).
    private static readonly string[] StatusTexts = Enumerable.Range(0, 600).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    private static string StatusText(int status) => (uint)status < (uint)StatusTexts.Length ? StatusTexts[status] : status.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [GeneratedRegex("^[A-Za-z0-9._-]+$")]
    private static partial Regex SafeId();
}
