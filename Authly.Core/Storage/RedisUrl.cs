using StackExchange.Redis;

namespace Authly.Storage;

/// <summary>
/// Turns REDIS_URL (redis://[user][:password@]host:port[/db]) into client options, with the connection
/// policy every Redis user of Authly shares: start while Redis is down (<c>AbortOnConnectFail=false</c>),
/// fail a command at once while it is unreachable (<see cref="BacklogPolicy.FailFast"/>) so callers take
/// their in-process fallback instead of each waiting out a timeout in a queue, and reconnect in the
/// background with a back-off from <see cref="ReconnectFirstDelayMs"/> up to <see cref="ReconnectMaxDelayMs"/>.
/// </summary>
public static class RedisUrl
{
    /// <summary>How long connecting, and any one command, may take before it counts as an outage.</summary>
    public const int TimeoutMs = 5000;
    public const int ReconnectFirstDelayMs = 500;
    public const int ReconnectMaxDelayMs = 5000;

    public static ConfigurationOptions Parse(string url)
    {
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("redis" or "rediss") || string.IsNullOrEmpty(uri.Host))
            throw new FormatException("expected redis://[:password@]host:port[/db]");
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            Ssl = uri.Scheme == "rediss",
            ConnectTimeout = TimeoutMs,
            SyncTimeout = TimeoutMs,
            AsyncTimeout = TimeoutMs,
            // The 3.x default queues commands while disconnected until AsyncTimeout: during an outage every
            // rate-limited request would wait 5 s before its fallback. Fail fast, as 1.2.6 did.
            BacklogPolicy = BacklogPolicy.FailFast,
            ReconnectRetryPolicy = new ExponentialRetry(ReconnectFirstDelayMs, ReconnectMaxDelayMs),
        };
        options.EndPoints.Add(uri.Host, uri.IsDefaultPort || uri.Port <= 0 ? 6379 : uri.Port);
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var colon = uri.UserInfo.IndexOf(':');
            options.Password = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[(colon + 1)..]);
        }
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0)
            options.DefaultDatabase = int.TryParse(path, out var db) && db >= 0 ? db : throw new FormatException("the database must be a number");
        return options;
    }
}
