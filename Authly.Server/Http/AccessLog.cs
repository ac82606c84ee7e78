using System.Diagnostics;

namespace Authly.Server.Http;

/// <summary>
/// One line per request (AUTHLY_ACCESS_LOG=true; `authly serve` turns it on unless --no-access-log):
/// method, path, status, duration, client. The path only: query strings can carry codes and tokens.
/// </summary>
public static class AccessLog
{
    public const string Category = "Authly.AccessLog";

    public static IApplicationBuilder UseAuthlyAccessLog(this IApplicationBuilder app)
    {
        var log = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        return app.Use(async (http, next) =>
        {
            var start = Stopwatch.GetTimestamp();
            try { await next(); }
            finally
            {
                log.LogInformation("{Method} {Path} {Status} {Milliseconds:0.0}ms {Client}", http.Request.Method, http.Request.Path.Value,
                    http.Response.StatusCode, Stopwatch.GetElapsedTime(start).TotalMilliseconds, http.Connection.RemoteIpAddress);
            }
        });
    }
}
