using System.Diagnostics;
using System.Text;

namespace Authly.Embedded;

/// <summary>Runs the PostgreSQL and Redis binaries, as the postgres system user where the server demands it.</summary>
internal static class ChildProcess
{
    public static bool IsRoot => Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root" || GetEuid() == 0;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "geteuid")]
    private static extern uint GetEuid();

    /// <summary>Builds a start info that runs <paramref name="file"/> as <paramref name="asUser"/> (via runuser) when we are root.</summary>
    public static ProcessStartInfo StartInfo(string file, IEnumerable<string> args, string? asUser)
    {
        ProcessStartInfo psi;
        if (asUser is not null && IsRoot)
        {
            psi = new ProcessStartInfo(FindRunuser());
            foreach (var a in new[] { "-u", asUser, "--", file }) psi.ArgumentList.Add(a);
        }
        else psi = new ProcessStartInfo(file);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        return psi;
    }

    public static async Task<(int Code, string Output)> RunAsync(string file, IEnumerable<string> args, string? asUser, CancellationToken ct)
    {
        using var p = Process.Start(StartInfo(file, args, asUser))!;
        var output = new StringBuilder();
        var so = p.StandardOutput.ReadToEndAsync(ct);
        var se = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        output.Append(await so).Append(await se);
        return (p.ExitCode, output.ToString());
    }

    public static async Task RunCheckedAsync(string file, IEnumerable<string> args, string? asUser, CancellationToken ct)
    {
        var (code, output) = await RunAsync(file, args, asUser, ct);
        if (code != 0) throw new InvalidOperationException($"{Path.GetFileName(file)} failed (exit {code}):{Environment.NewLine}{output.Trim()}");
    }

    private static string FindRunuser() =>
        new[] { "/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("runuser (util-linux) is needed to run PostgreSQL as the postgres user when started as root.");

    public static int FreeLoopbackPort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public static async Task WaitForPortAsync(int port, Process process, string name, TimeSpan timeout, Func<string> log, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"{name} exited during start (code {process.ExitCode}):{Environment.NewLine}{log()}");
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(System.Net.IPAddress.Loopback, port, ct);
                return;
            }
            catch (System.Net.Sockets.SocketException) { await Task.Delay(100, ct); }
        }
        throw new TimeoutException($"{name} did not accept connections on port {port} within {timeout.TotalSeconds:0} s:{Environment.NewLine}{log()}");
    }

    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
                                              UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Writes a file created 0600 (never readable by others, not even between create and chmod).</summary>
    public static void WriteSecretFile(string path, string content)
    {
        using (var stream = new FileStream(path, new FileStreamOptions
               {
                   Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
               }))
        using (var writer = new StreamWriter(stream)) writer.Write(content);
        // An existing file keeps its mode on truncation: close it too.
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>A directory for the owner alone (0700), and nothing inside it open to group or others (older data dirs).</summary>
    public static void CloseDirectory(string dir)
    {
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, OwnerOnly);
        foreach (var entry in new DirectoryInfo(dir).EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
            if ((entry.UnixFileMode & GroupOrOther) != 0 && entry.LinkTarget is null)
                entry.UnixFileMode &= ~GroupOrOther;
    }
}
