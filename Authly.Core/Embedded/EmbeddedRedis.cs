using System.Collections.Concurrent;
using System.Diagnostics;
using Authly.Security;

namespace Authly.Embedded;

/// <summary>A private redis-server on a free loopback port, with a password and an append-only file under the data directory.</summary>
public sealed class EmbeddedRedis : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log;
    public int Port { get; }
    public string Password { get; }
    public string Url => $"redis://:{Uri.EscapeDataString(Password)}@127.0.0.1:{Port}";

    private EmbeddedRedis(Process process, int port, string password, ConcurrentQueue<string> log)
        => (_process, Port, Password, _log) = (process, port, password, log);

    public static string FindBinary() =>
        new[] { Environment.GetEnvironmentVariable("AUTHLY_REDIS_SERVER"), "/usr/bin/redis-server", "/usr/local/bin/redis-server" }
            .FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p))
        ?? throw new InvalidOperationException("redis-server was not found. Install it with 'apt-get install redis-server' (Debian/Ubuntu).");

    public static async Task<EmbeddedRedis> StartAsync(string dataDir, CancellationToken ct)
    {
        var binary = FindBinary();
        var dir = Path.Combine(Path.GetFullPath(dataDir), "redis");
        Directory.CreateDirectory(dir);
        var passwordFile = Path.Combine(dataDir, "redis.password");
        if (!File.Exists(passwordFile)) ChildProcess.WriteSecretFile(passwordFile, OpaqueToken.New(24));
        var password = File.ReadAllText(passwordFile).Trim();
        var port = ChildProcess.FreeLoopbackPort();
        // The password goes in through a config file on stdin-free argv would show it in ps; use a 0600 file.
        var conf = Path.Combine(dir, "redis.conf");
        ChildProcess.WriteSecretFile(conf, string.Join('\n',
            $"port {port}", "bind 127.0.0.1", "protected-mode yes", $"dir {dir}", "appendonly yes", "save \"\"",
            "daemonize no", $"requirepass {password}", "loglevel warning") + "\n");
        var psi = ChildProcess.StartInfo(binary, [conf], null);
        var log = new ConcurrentQueue<string>();
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var redis = new EmbeddedRedis(process, port, password, log);
        try { await ChildProcess.WaitForPortAsync(port, process, "Redis", TimeSpan.FromSeconds(30), () => string.Join('\n', log.TakeLast(30)), ct); }
        catch { await redis.DisposeAsync(); throw; }
        return redis;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                // SIGTERM: Redis flushes the append-only file and exits.
                Process.Start("kill", ["-TERM", _process.Id.ToString()])?.WaitForExit(5000);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (Exception)
            {
                try { _process.Kill(); } catch (InvalidOperationException) { }
            }
        }
        _process.Dispose();
    }
}
