using System.Text.Json;

namespace Authly.Cli.Admin;

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

    /// <summary>An exclusive lock on tokens.json.lock (an OS file lock: released if the process dies), waited for up to 30 s.</summary>
    public static async Task<FileStream> LockAsync(string path, CancellationToken ct)
    {
        var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try { return new FileStream(path + ".lock", options); }
            catch (IOException) when (DateTime.UtcNow < deadline) { await Task.Delay(100, ct); }
        }
    }

    public static bool Delete(string path)
    {
        if (!File.Exists(path)) return false;
        File.Delete(path);
        return true;
    }
}
