using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Serialization;

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
        return File.Exists(file)
            ? Parse(File.ReadAllText(file), file, dir, warning => Console.Error.WriteLine($"warning: {warning}"))
            : new CliConfig(dir, null, DefaultTimeout, null);
    }

    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Reads config.toml with Tomlyn. Malformed TOML and a known key of the wrong type are errors naming
    /// the line ("file:line: what", exit 5); unknown sections and keys are ignored, as they always were,
    /// with a warning naming the line so a typo does not go unnoticed.
    /// </summary>
    public static CliConfig Parse(string text, string file, string dir, Action<string> warn)
    {
        var spans = new TomlMetadataStore();
        TomlTable root;
        try
        {
            root = TomlSerializer.Deserialize<TomlTable>(text, new TomlSerializerOptions { SourceName = file, MetadataStore = spans })!;
        }
        catch (TomlException e)
        {
            var what = e.Diagnostics is { Count: > 0 } d ? d[0].Message : e.Message;
            throw new CliException(ExitCodes.Validation, $"{file}:{e.Line}: {what.Trim()}");
        }

        string Where(TomlTable table, string key) =>
            spans.TryGetProperties(table, out var props) && props?.TryGetProperty(key, out var p) == true && p?.Span is { } span
                ? $"{file}:{span.Start.Line + 1}" : file;

        string? url = null, format = null;
        var timeout = DefaultTimeout;
        foreach (var (section, value) in root)
        {
            if (section is not ("api" or "output"))
            {
                warn($"{Where(root, section)}: unknown {(value is TomlTable ? "section" : "key")} {section} (ignored)");
                continue;
            }
            if (value is not TomlTable table) throw Bad(root, section, $"{section} must be a [{section}] section");
            foreach (var (key, v) in table)
            {
                switch ($"{section}.{key}")
                {
                    case "api.url":
                        url = v as string ?? throw Bad(table, key, "[api] url must be a quoted string");
                        break;
                    case "api.timeout":
                        var seconds = v switch
                        {
                            long l => l,
                            double f => f,
                            string s when double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var f) => f,
                            _ => double.NaN,
                        };
                        timeout = seconds is > 0 and <= 3600 ? TimeSpan.FromSeconds(seconds)
                            : throw Bad(table, key, "[api] timeout must be a number of seconds between 0 and 3600");
                        break;
                    case "output.default_format":
                        format = v is "table" or "json" ? (string)v : throw Bad(table, key, "[output] default_format must be \"table\" or \"json\"");
                        break;
                    default:
                        warn($"{Where(table, key)}: unknown key [{section}] {key} (ignored)");
                        break;
                }
            }
        }
        return new CliConfig(dir, url, timeout, format);

        CliException Bad(TomlTable table, string key, string what) => new(ExitCodes.Validation, $"{Where(table, key)}: {what}");
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
