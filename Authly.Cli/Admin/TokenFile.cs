using System.Text.Json;
using System.Text.Json.Serialization;

namespace Authly.Cli.Admin;

/// <summary>What `auth login` keeps: the tokens, when the access token expires, the scopes and the server.</summary>
public sealed record TokenSet
{
    [JsonPropertyName("access_token")] public string AccessToken { get; init; } = "";
    [JsonPropertyName("refresh_token")] public string? RefreshToken { get; init; }
    [JsonPropertyName("token_type")] public string TokenType { get; init; } = "Bearer";
    [JsonPropertyName("expires_at")] public DateTimeOffset ExpiresAt { get; init; }
    [JsonPropertyName("scope")] public string Scope { get; init; } = "";
    [JsonPropertyName("api_url")] public string ApiUrl { get; init; } = "";
    [JsonPropertyName("username")] public string? Username { get; init; }
}

/// <summary>
/// tokens.json in the config directory: the directory is 0700 and the file 0600 from the moment
/// it exists (created with that mode, then moved into place), so no other local user can read a token.
/// </summary>
public static class TokenFile
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

    public static TokenSet? Read(string path)
    {
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<TokenSet>(File.ReadAllText(path), Options); }
        catch (JsonException) { throw new CliException(ExitCodes.Authentication, $"{path} is damaged: run 'authly admin auth login' again"); }
    }

    public static void Write(string path, TokenSet tokens)
    {
        var dir = Path.GetDirectoryName(path)!;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dir);
        else
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var temp = path + "." + Environment.ProcessId + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, options))
            JsonSerializer.Serialize(stream, tokens, Options);
        File.Move(temp, path, overwrite: true);
    }

    public static bool Delete(string path)
    {
        if (!File.Exists(path)) return false;
        File.Delete(path);
        return true;
    }
}
