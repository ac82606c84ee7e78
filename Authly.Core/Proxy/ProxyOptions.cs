using Authly.Storage;

namespace Authly.Proxy;

/// <summary>
/// Settings of `authly proxy postgres|redis`, from the environment and then the command line.
/// Every bad value is reported at once, the way <c>AuthlyOptions.Load</c> does for the server.
/// </summary>
public sealed record ProxyOptions
{
    /// <summary>Where Authly answers: discovery, JWKS and introspection are read from here.</summary>
    public string AuthlyUrl { get; init; } = "http://127.0.0.1:8000";
    /// <summary>The <c>aud</c> tokens must carry; null means Authly's default audience, its issuer.</summary>
    public string? Audience { get; init; }
    /// <summary>A confidential client for RFC 7662 introspection, when Authly requires authentication for it.</summary>
    public string? ClientId { get; init; }
    public string? ClientSecret { get; init; }

    public string ListenHost { get; init; } = "127.0.0.1";
    /// <summary>The HTTP port (POST /query or /command). 0 picks a free one.</summary>
    public int Port { get; init; }
    /// <summary>The wire-protocol port (PostgreSQL or RESP); null leaves the wire listener off.</summary>
    public int? WirePort { get; init; }

    /// <summary>The PostgreSQL the proxy relays to (postgresql:// URL or connection string).</summary>
    public string? DatabaseUrl { get; init; }
    /// <summary>
    /// The low-privilege role every query runs as (SET LOCAL ROLE). Required for the PostgreSQL proxy, which
    /// checks at start that neither it nor the login is a superuser or has rights on Authly's tables
    /// (<see cref="PostgresRoleCheck"/>).
    /// </summary>
    public string? DatabaseRole { get; init; }
    public TimeSpan StatementTimeout { get; init; } = TimeSpan.FromSeconds(5);
    public int MaxRows { get; init; } = 1000;
    public int MaxResponseBytes { get; init; } = 1024 * 1024;
    /// <summary>A scope that allows statements classified as admin (DDL, SET, …); null refuses them for everyone.</summary>
    public string? AdminScope { get; init; }

    /// <summary>The Redis the proxy relays to.</summary>
    public string? RedisUrl { get; init; }
    /// <summary>AUTHLY_CLOCK_LEEWAY_SECONDS, as on the server: nbf/iat may lie this far in the future (<see cref="Tokens.TokenLifetime"/>).</summary>
    public TimeSpan ClockLeeway { get; init; } = TimeSpan.FromSeconds(Tokens.TokenLifetime.DefaultLeewaySeconds);
    /// <summary>LOG_LEVEL, as on the server: Trace, Debug, Information, Warning, Error or Critical.</summary>
    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; init; } = Microsoft.Extensions.Logging.LogLevel.Information;
    /// <summary>LOG_JSON, as on the server: one JSON object per log line.</summary>
    public bool LogJson { get; init; }

    public const int DefaultPostgresPort = 5433;
    public const int DefaultRedisPort = 6380;
    public const int DefaultPostgresWirePort = 5434;
    public const int DefaultRedisWirePort = 6381;

    /// <summary>Reads the AUTHLY_PROXY_* settings (and DATABASE_URL / REDIS_URL as the targets' defaults).</summary>
    public static ProxyOptions FromEnvironment(Func<string, string?> get)
    {
        var errors = new List<string>();
        var o = new ProxyOptions
        {
            AuthlyUrl = Blank(get("AUTHLY_URL")) ?? "http://127.0.0.1:8000",
            Audience = Blank(get("AUTHLY_PROXY_AUDIENCE")),
            ClientId = Blank(get("AUTHLY_PROXY_CLIENT_ID")),
            ClientSecret = Blank(get("AUTHLY_PROXY_CLIENT_SECRET")),
            ListenHost = Blank(get("AUTHLY_PROXY_HOST")) ?? "127.0.0.1",
            DatabaseUrl = Blank(get("AUTHLY_PROXY_DATABASE_URL")) ?? Blank(get("DATABASE_URL")),
            DatabaseRole = Blank(get("AUTHLY_PROXY_DB_ROLE")),
            StatementTimeout = TimeSpan.FromMilliseconds(Int(get, "AUTHLY_PROXY_STATEMENT_TIMEOUT_MS", 5000, 1, 3_600_000, errors)),
            MaxRows = Int(get, "AUTHLY_PROXY_MAX_ROWS", 1000, 1, 10_000_000, errors),
            MaxResponseBytes = Int(get, "AUTHLY_PROXY_MAX_RESPONSE_BYTES", 1024 * 1024, 1024, 1024 * 1024 * 1024, errors),
            AdminScope = Blank(get("AUTHLY_PROXY_ADMIN_SCOPE")),
            RedisUrl = Blank(get("AUTHLY_PROXY_REDIS_URL")) ?? Blank(get("REDIS_URL")),
            ClockLeeway = TimeSpan.FromSeconds(Int(get, "AUTHLY_CLOCK_LEEWAY_SECONDS", Tokens.TokenLifetime.DefaultLeewaySeconds, 0, Tokens.TokenLifetime.MaxLeewaySeconds, errors)),
            LogLevel = Level(get, "LOG_LEVEL", errors),
            LogJson = Bool(get, "LOG_JSON", errors),
        };
        if (errors.Count > 0) throw new FormatException(string.Join(Environment.NewLine, errors));
        return o;
    }

    /// <summary>Every problem with these settings for the given proxy ("postgres" or "redis"); empty when usable.</summary>
    public IReadOnlyList<string> Problems(string kind)
    {
        var errors = new List<string>();
        if (!Uri.TryCreate(AuthlyUrl, UriKind.Absolute, out var authly) || authly.Scheme is not ("http" or "https"))
            errors.Add($"AUTHLY_URL / --authly-url: '{AuthlyUrl}' is not an http(s) URL");
        if ((ClientId is null) != (ClientSecret is null))
            errors.Add("AUTHLY_PROXY_CLIENT_ID and AUTHLY_PROXY_CLIENT_SECRET are set together or not at all");
        if (Port is < 0 or > 65535) errors.Add($"--port: {Port} is not a TCP port");
        if (WirePort is < 0 or > 65535) errors.Add($"--wire-port: {WirePort} is not a TCP port");
        if (!System.Net.IPAddress.TryParse(ListenHost, out _) && ListenHost != "localhost")
            errors.Add($"--host: '{ListenHost}' is not an IP address");
        if (kind == "postgres")
        {
            if (DatabaseUrl is null) errors.Add("the PostgreSQL to proxy is not set: AUTHLY_PROXY_DATABASE_URL, DATABASE_URL or --database-url");
            else
                try { _ = ConnectionString(); }
                catch (Exception e) when (e is FormatException or ArgumentException) { errors.Add("--database-url: " + e.Message); }
            if (DatabaseRole is null)
                errors.Add("--role / AUTHLY_PROXY_DB_ROLE is not set: the proxy runs every statement as a low-privilege role of its own, never as " +
                           "its login. Create one with rights on the application's tables only: CREATE ROLE authly_app NOLOGIN; " +
                           "GRANT authly_app TO <the proxy's login>; GRANT SELECT, INSERT, UPDATE, DELETE ON <application tables> TO authly_app; " +
                           "then pass --role authly_app (see examples/postgres-proxy-rls.sql)");
            else if (!IsIdentifier(DatabaseRole))
                errors.Add($"--role: '{DatabaseRole}' must be a plain role name ([a-z_][a-z0-9_]*)");
            if (AdminScope is not null && !Scopes.ScopeSet.IsValidToken(AdminScope))
                errors.Add($"--admin-scope: '{AdminScope}' is not a scope token");
        }
        if (kind == "redis")
        {
            if (RedisUrl is null) errors.Add("the Redis to proxy is not set: AUTHLY_PROXY_REDIS_URL, REDIS_URL or --redis-url");
            else
                try { _ = Storage.RedisUrl.Parse(RedisUrl); }
                catch (FormatException e) { errors.Add("--redis-url: " + e.Message); }
        }
        return errors;
    }

    /// <summary>The address to bind: <see cref="ListenHost"/> parsed ("localhost" is the IPv4 loopback).</summary>
    public System.Net.IPAddress ListenAddress() =>
        ListenHost == "localhost" ? System.Net.IPAddress.Loopback : System.Net.IPAddress.Parse(ListenHost);

    /// <summary>The Npgsql connection string of the proxied database.</summary>
    public string ConnectionString() =>
        DatabaseUrl!.StartsWith("postgres", StringComparison.OrdinalIgnoreCase) && DatabaseUrl.Contains("://")
            ? Storage.DatabaseUrl.ToConnectionString(DatabaseUrl)
            : new Npgsql.NpgsqlConnectionStringBuilder(DatabaseUrl).ConnectionString;

    /// <summary>Role names are shown in advice that is meant to be pasted into psql: only plain identifiers are accepted.</summary>
    public static bool IsIdentifier(string s) =>
        s.Length is > 0 and <= 63 && (char.IsAsciiLetterLower(s[0]) || s[0] == '_') && s.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_');

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static readonly Microsoft.Extensions.Logging.LogLevel[] Levels =
    [
        Microsoft.Extensions.Logging.LogLevel.Trace, Microsoft.Extensions.Logging.LogLevel.Debug, Microsoft.Extensions.Logging.LogLevel.Information,
        Microsoft.Extensions.Logging.LogLevel.Warning, Microsoft.Extensions.Logging.LogLevel.Error, Microsoft.Extensions.Logging.LogLevel.Critical,
    ];

    private static Microsoft.Extensions.Logging.LogLevel Level(Func<string, string?> get, string name, List<string> errors)
    {
        var raw = Blank(get(name));
        if (raw is null) return Microsoft.Extensions.Logging.LogLevel.Information;
        foreach (var level in Levels)
            if (level.ToString().Equals(raw, StringComparison.OrdinalIgnoreCase)) return level;
        errors.Add($"{name}: '{raw}' must be one of {string.Join(", ", Levels)}");
        return Microsoft.Extensions.Logging.LogLevel.Information;
    }

    private static bool Bool(Func<string, string?> get, string name, List<string> errors)
    {
        var raw = Blank(get(name));
        switch (raw?.ToLowerInvariant())
        {
            case null or "false" or "0" or "no" or "off": return false;
            case "true" or "1" or "yes" or "on": return true;
            default:
                errors.Add($"{name}: '{raw}' must be true or false");
                return false;
        }
    }

    private static int Int(Func<string, string?> get, string name, int fallback, int min, int max, List<string> errors)
    {
        var raw = Blank(get(name));
        if (raw is null) return fallback;
        if (int.TryParse(raw, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) && v >= min && v <= max) return v;
        errors.Add($"{name}: '{raw}' must be a whole number from {min} to {max}");
        return fallback;
    }
}
