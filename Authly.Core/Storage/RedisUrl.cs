using StackExchange.Redis;

namespace Authly.Storage;

/// <summary>Turns REDIS_URL (redis://[user][:password@]host:port[/db]) into client options.</summary>
public static class RedisUrl
{
    public static ConfigurationOptions Parse(string url)
    {
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("redis" or "rediss") || string.IsNullOrEmpty(uri.Host))
            throw new FormatException("expected redis://[:password@]host:port[/db]");
        var options = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            Ssl = uri.Scheme == "rediss",
            ConnectTimeout = 5000,
            SyncTimeout = 5000,
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
