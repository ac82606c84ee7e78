using Npgsql;

namespace Authly.Storage;

/// <summary>Turns DATABASE_URL (postgresql://user:pass@host:port/db?sslmode=…) into an Npgsql connection string.</summary>
public static class DatabaseUrl
{
    public static string ToConnectionString(string url)
    {
        url = url.Trim();
        if (!url.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) &&
            !url.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
        {
            // Already a key=value connection string.
            try { return new NpgsqlConnectionStringBuilder(url).ConnectionString; }
            catch (ArgumentException e) { throw new FormatException("expected postgresql://user:pass@host:port/db or an Npgsql connection string (" + e.Message + ")"); }
        }
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
            throw new FormatException("expected postgresql://user:pass@host:port/db");
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host.Trim('[', ']'),
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : "postgres",
        };
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            var colon = uri.UserInfo.IndexOf(':');
            b.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0) b.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            switch (key.ToLowerInvariant())
            {
                case "sslmode":
                    b.SslMode = value.ToLowerInvariant() switch
                    {
                        "disable" => SslMode.Disable, "allow" => SslMode.Allow, "prefer" => SslMode.Prefer,
                        "require" => SslMode.Require, "verify-ca" => SslMode.VerifyCA, "verify-full" => SslMode.VerifyFull,
                        _ => throw new FormatException($"unknown sslmode '{value}'"),
                    };
                    break;
                case "application_name": b.ApplicationName = value; break;
                case "connect_timeout": b.Timeout = int.TryParse(value, out var t) ? t : throw new FormatException("connect_timeout must be a number"); break;
                default: throw new FormatException($"unsupported URL parameter '{key}'");
            }
        }
        return b.ConnectionString;
    }
}
