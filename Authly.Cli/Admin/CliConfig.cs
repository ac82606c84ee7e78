namespace Authly.Cli.Admin;

/// <summary>
/// Where the CLI keeps its state and which server it talks to. Directory: $AUTHLY_CONFIG_DIR or
/// ~/.authly. config.toml holds <c>[api] url, timeout</c> and <c>[output] default_format</c>; the API URL
/// comes from --api-url, then $AUTHLY_API_URL (or its alias $AUTHLY_ADMIN_API_URL), then config.toml, then the URL of the last login, then
/// http://localhost:8000.
/// </summary>
public sealed record CliConfig(string Directory, string? ConfigApiUrl, TimeSpan Timeout, string? DefaultFormat)
{
    public const string DefaultApiUrl = "http://localhost:8000";

    public string TokenFile => Path.Combine(Directory, "tokens.json");
    public string ConfigFile => Path.Combine(Directory, "config.toml");

    public static string ConfigDirectory() =>
        Environment.GetEnvironmentVariable("AUTHLY_CONFIG_DIR") is { Length: > 0 } dir
            ? Path.GetFullPath(dir)
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".authly");

    public static CliConfig Load()
    {
        var dir = ConfigDirectory();
        var file = Path.Combine(dir, "config.toml");
        var toml = File.Exists(file) ? MiniToml.Parse(File.ReadAllText(file), file) : new Dictionary<string, string>();
        var timeout = TimeSpan.FromSeconds(30);
        if (toml.TryGetValue("api.timeout", out var t))
            timeout = double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s) && s is > 0 and <= 3600
                ? TimeSpan.FromSeconds(s)
                : throw new CliException(ExitCodes.Validation, $"{file}: [api] timeout must be a number of seconds between 0 and 3600");
        string? format = null;
        if (toml.TryGetValue("output.default_format", out var f))
            format = f is "table" or "json" ? f : throw new CliException(ExitCodes.Validation, $"{file}: [output] default_format must be \"table\" or \"json\"");
        return new CliConfig(dir, toml.GetValueOrDefault("api.url"), timeout, format);
    }

    /// <summary>
    /// $AUTHLY_API_URL, or $AUTHLY_ADMIN_API_URL (the original CLI guide's name) when only that one is set. Both set to
    /// different URLs is a configuration error rather than a silent choice: a script would talk to a server it did not mean.
    /// </summary>
    public static (string? Url, string Name) EnvironmentApiUrl()
    {
        var api = Environment.GetEnvironmentVariable("AUTHLY_API_URL") is { Length: > 0 } a ? a : null;
        var admin = Environment.GetEnvironmentVariable("AUTHLY_ADMIN_API_URL") is { Length: > 0 } b ? b : null;
        if (api is not null && admin is not null && api.TrimEnd('/') != admin.TrimEnd('/'))
            throw new CliException(ExitCodes.Validation,
                $"AUTHLY_API_URL ({api}) and AUTHLY_ADMIN_API_URL ({admin}) name different servers: set only one of them (they mean the same)");
        return api is not null ? (api, "AUTHLY_API_URL") : (admin, "AUTHLY_ADMIN_API_URL");
    }

    /// <summary>The API URL and where it came from (for `auth info`).</summary>
    public (string Url, string Source) ApiUrl(string? fromOption, string? fromLastLogin)
    {
        var (url, source) = fromOption is { Length: > 0 } o ? (o, "--api-url")
            : EnvironmentApiUrl() is ({ } e, var name) ? (e, name)
            : ConfigApiUrl is { Length: > 0 } c ? (c, "config.toml")
            : fromLastLogin is { Length: > 0 } l ? (l, "last login")
            : (DefaultApiUrl, "default");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new CliException(ExitCodes.Validation, $"API URL from {source} is not an absolute http(s) URL: {url}");
        return (url.TrimEnd('/'), source);
    }
}
