using System.Data.Common;
using System.Globalization;
using Npgsql;

namespace Authly.Storage;

/// <summary>
/// Turns DATABASE_URL (postgresql://user:pass@host:port/db?sslmode=…&amp;max_pool_size=…) into an
/// Npgsql connection string. Query parameters: sslmode, application_name, max_pool_size,
/// min_pool_size, connect_timeout (seconds; also how long a request waits for a pooled
/// connection), command_timeout (seconds) and statement_timeout (milliseconds, sent to PostgreSQL;
/// 0 = off). Any other parameter, or a bad value, is a <see cref="FormatException"/> naming it.
/// </summary>
public static class DatabaseUrl
{
    // The server's pool defaults (ForServer), sized to queue rather than fail and to give up on a
    // stalled database in seconds (issue 12 findings 6 and 8). Npgsql's own (100 connections, 15 s
    // to connect, 30 s per command, no statement timeout) let a burst open more connections than
    // PostgreSQL had free (500s instead of a short wait) and made a stalled database a 30 s hang.
    // A request waits at most connect_timeout for one of max_pool_size connections; PostgreSQL
    // cancels a statement after statement_timeout, cleanly, before the client gives up on the
    // connection at command_timeout (which also covers a server that stopped answering at all).
    public const int DefaultMaxPoolSize = 20;
    public const int DefaultConnectTimeoutSeconds = 5;
    public const int DefaultCommandTimeoutSeconds = 10;
    public const int DefaultStatementTimeoutMilliseconds = 8000;

    public static string ToConnectionString(string url) => Parse(url).Builder.ConnectionString;

    /// <summary>The connection string of the server's pool: what the URL says, and the defaults above for what it leaves out.</summary>
    public static string ForServer(string url)
    {
        var (b, given) = Parse(url);
        if (!given.Contains(MaxPoolSizeKey)) b.MaxPoolSize = Math.Max(DefaultMaxPoolSize, b.MinPoolSize);
        if (!given.Contains(ConnectTimeoutKey)) b.Timeout = DefaultConnectTimeoutSeconds;
        if (!given.Contains(CommandTimeoutKey)) b.CommandTimeout = DefaultCommandTimeoutSeconds;
        if (!given.Contains(StatementTimeoutKey)) AddStatementTimeout(b, DefaultStatementTimeoutMilliseconds);
        return b.ConnectionString;
    }

    private const string MaxPoolSizeKey = "max_pool_size", MinPoolSizeKey = "min_pool_size", ConnectTimeoutKey = "connect_timeout",
        CommandTimeoutKey = "command_timeout", StatementTimeoutKey = "statement_timeout";

    private static (NpgsqlConnectionStringBuilder Builder, HashSet<string> Given) Parse(string url)
    {
        url = url.Trim();
        if (!url.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) &&
            !url.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
            return ParseKeywords(url);
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
        var given = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]).ToLowerInvariant();
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (!given.Add(key)) throw new FormatException($"URL parameter '{key}' is given twice");
            switch (key)
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
                case MaxPoolSizeKey: b.MaxPoolSize = Int(key, value, 1, 1000); break;
                case MinPoolSizeKey: b.MinPoolSize = Int(key, value, 0, 1000); break;
                // Npgsql's Timeout: opening a connection, and waiting for a free one in a full pool.
                case ConnectTimeoutKey: b.Timeout = Int(key, value, 1, 1024); break;
                case CommandTimeoutKey: b.CommandTimeout = Int(key, value, 0, 86_400); break;
                case StatementTimeoutKey: AddStatementTimeout(b, Int(key, value, 0, 86_400_000)); break;
                default: throw new FormatException($"unsupported URL parameter '{key}'");
            }
        }
        if (b.MinPoolSize > b.MaxPoolSize)
            throw new FormatException($"min_pool_size ({b.MinPoolSize}) is larger than max_pool_size ({b.MaxPoolSize})");
        return (b, given);
    }

    /// <summary>An Npgsql key=value connection string, taken as written; the settings it names count as given.</summary>
    private static (NpgsqlConnectionStringBuilder, HashSet<string>) ParseKeywords(string connectionString)
    {
        NpgsqlConnectionStringBuilder b;
        try { b = new NpgsqlConnectionStringBuilder(connectionString); }
        catch (ArgumentException e) { throw new FormatException("expected postgresql://user:pass@host:port/db or an Npgsql connection string (" + e.Message + ")"); }
        // The builder's own string names only what was set, under the canonical keywords.
        var set = new DbConnectionStringBuilder { ConnectionString = b.ConnectionString };
        var given = new HashSet<string>(StringComparer.Ordinal);
        if (set.ContainsKey("Maximum Pool Size")) given.Add(MaxPoolSizeKey);
        if (set.ContainsKey("Minimum Pool Size")) given.Add(MinPoolSizeKey);
        if (set.ContainsKey("Timeout")) given.Add(ConnectTimeoutKey);
        if (set.ContainsKey("Command Timeout")) given.Add(CommandTimeoutKey);
        if (b.Options?.Contains("statement_timeout", StringComparison.OrdinalIgnoreCase) == true) given.Add(StatementTimeoutKey);
        return (b, given);
    }

    private static int Int(string key, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
            ? v
            : throw new FormatException($"{key} must be a whole number from {min} to {max}");

    // Sent in the startup packet (-c), so it is the session's default and survives the DISCARD ALL
    // Npgsql runs when a connection goes back to the pool. 0 turns it off.
    private static void AddStatementTimeout(NpgsqlConnectionStringBuilder b, int milliseconds)
    {
        var option = $"-c statement_timeout={milliseconds.ToString(CultureInfo.InvariantCulture)}";
        b.Options = string.IsNullOrWhiteSpace(b.Options) ? option : b.Options + " " + option;
    }
}
