using Authly.Security;
using System.Diagnostics;
using System.Net;
using System.Threading.Channels;

namespace Authly.Server.Http;

/// <summary>
/// One line per request (AUTHLY_ACCESS_LOG=true; `authly serve` turns it on unless --no-access-log):
/// method, path, status, duration, client. The path only: query strings can carry codes and tokens; control characters
/// in the (decoded) path are escaped by LogText.Safe (as \uXXXX, capped at 512 characters), so no request can start a line of its own.
/// </summary>
/// <remarks>
/// Issue 14's profile: writing the line on the request's thread was the largest single cost of the
/// cheapest requests (a quarter to a third of a /health/live answer under load): every console log
/// line takes the console logger's queue lock and wakes its writer thread, and under load the request
/// threads queue up on that lock. With plain-text logs the lines are handed to one background writer
/// through a bounded queue instead, so only that thread meets the console logger's lock. JSON logs
/// include the request's scopes (X-Request-ID, trace ids), which live on the request's async flow, so
/// there the line is still written in the request. When the queue is full (or the host stopping) a
/// line is written in the request too: none is dropped.
/// </remarks>
public static class AccessLog
{
    public const string Category = "Authly.AccessLog";
    private const int QueueCapacity = 10_000;

    // Parsed once, with no object[] per line (the LogInformation extension boxes every value).
    private static readonly Action<ILogger, string, string?, int, double, IPAddress?, Exception?> Line =
        LoggerMessage.Define<string, string?, int, double, IPAddress?>(LogLevel.Information, new EventId(0),
            "{Method} {Path} {Status} {Milliseconds:0.0}ms {Client}", new LogDefineOptions { SkipEnabledCheck = true });

    private readonly record struct Entry(string Method, string? Path, int Status, double Milliseconds, IPAddress? Client);

    /// <param name="queued">hand lines to a background writer (plain-text logs, whose lines carry no scopes)</param>
    public static IApplicationBuilder UseAuthlyAccessLog(this IApplicationBuilder app, bool queued)
    {
        var log = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        var queue = queued ? StartWriter(app.ApplicationServices, log) : null;
        return app.Use(async (http, next) =>
        {
            var start = Stopwatch.GetTimestamp();
            try { await next(http); }
            finally
            {
                if (log.IsEnabled(LogLevel.Information))
                {
                    var entry = new Entry(http.Request.Method, http.Request.Path.Value, http.Response.StatusCode,
                        Stopwatch.GetElapsedTime(start).TotalMilliseconds, http.Connection.RemoteIpAddress);
                    if (queue is null || !queue.TryWrite(entry)) Write(log, entry);
                }
            }
        });
    }

    // The path arrives percent-decoded: an encoded CR or other control character would let a request start a line of
    // its own in the log, forging an entry. LogText.Safe, the one rule every log line of caller text follows, escapes
    // them (and Unicode line separators); here on the writer thread, off the request's path when queued.
    private static void Write(ILogger log, in Entry e) => Line(log, e.Method, LogText.Safe(e.Path), e.Status, e.Milliseconds, e.Client, null);

    private static ChannelWriter<Entry> StartWriter(IServiceProvider services, ILogger log)
    {
        var channel = Channel.CreateBounded<Entry>(new BoundedChannelOptions(QueueCapacity)
        {
            SingleReader = true, FullMode = BoundedChannelFullMode.Wait, AllowSynchronousContinuations = false,
        });
        var writer = Task.Run(async () =>
        {
            while (await channel.Reader.WaitToReadAsync())
                while (channel.Reader.TryRead(out var entry)) Write(log, entry);
        });
        // After the server has stopped taking requests: write what is queued, then let the logger flush.
        services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(() =>
        {
            channel.Writer.TryComplete();
            writer.Wait(TimeSpan.FromSeconds(5));
        });
        return channel.Writer;
    }
}
