using System.Collections.Concurrent;
using System.Diagnostics;
using Authly.Security;

namespace Authly.Embedded;

/// <summary>
/// A private redis-server on a free loopback port, with a password and an append-only file under
/// the data directory. The append-only file holds the rate-limit counter keys (per client address;
/// lockouts are in PostgreSQL), so its directory is 0700 and Redis runs with umask 077:
/// the files it creates later (AOF rewrites, RDB) are 0600 too.
/// </summary>
public sealed class EmbeddedRedis : IAsyncDisposable
{
    private Process _process;
    private readonly ConcurrentQueue<string> _log;
    private readonly string _binary;
    private readonly string _conf;
    public bool HasExited => _process.HasExited;
    public int Port { get; }
    public string Password { get; }
    public string Url => $"redis://:{Uri.EscapeDataString(Password)}@127.0.0.1:{Port}";

    private EmbeddedRedis(Process process, int port, string password, ConcurrentQueue<string> log, string binary, string conf)
        => (_process, Port, Password, _log, _binary, _conf) = (process, port, password, log, binary, conf);

    public static string FindBinary() =>
        new[] { Environment.GetEnvironmentVariable("AUTHLY_REDIS_SERVER"), "/usr/bin/redis-server", "/usr/local/bin/redis-server" }
            .FirstOrDefault(p => !string.IsNullOrEmpty(p) && File.Exists(p))
        ?? throw new InvalidOperationException("redis-server was not found. Install it with 'apt-get install redis-server' (Debian/Ubuntu).");

    /// <param name="port">0 for a free loopback port</param>
    public static async Task<EmbeddedRedis> StartAsync(string dataDir, CancellationToken ct, int port = 0, string listen = "127.0.0.1")
    {
        var binary = FindBinary();
        var dir = Path.Combine(Path.GetFullPath(dataDir), "redis");
        ChildProcess.CloseDirectory(dir);
        var passwordFile = Path.Combine(EmbeddedServices.SecretsDir(dataDir), "redis.password");
        if (!File.Exists(passwordFile)) ChildProcess.WriteSecretFile(passwordFile, OpaqueToken.New(24));
        var password = File.ReadAllText(passwordFile).Trim();
        if (port == 0) port = ChildProcess.FreeLoopbackPort();
        // The password goes in through a 0600 config file: on the command line, ps would show it.
        var conf = Path.Combine(dir, "redis.conf");
        ChildProcess.WriteSecretFile(conf, string.Join('\n',
            $"port {port}", $"bind {listen}", "protected-mode yes", $"dir {dir}", "appendonly yes", "save \"\"",
            "daemonize no", $"requirepass {password}", "loglevel warning") + "\n");
        var log = new ConcurrentQueue<string>();
        var redis = new EmbeddedRedis(Launch(binary, conf, log), port, password, log, binary, conf);
        try { await ChildProcess.WaitForPortAsync(port, redis._process, "Redis", TimeSpan.FromSeconds(30), () => string.Join('\n', log.TakeLast(30)), ct); }
        catch { await redis.DisposeAsync(); throw; }
        return redis;
    }

    private static Process Launch(string binary, string conf, ConcurrentQueue<string> log)
    {
        // Redis has no umask setting; a shell sets it and then becomes redis-server (same pid, so signals reach Redis).
        var process = new Process { StartInfo = ChildProcess.StartInfo("/bin/sh", ["-c", "umask 077 && exec \"$0\" \"$@\"", binary, conf], null), EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); while (log.Count > 200) log.TryDequeue(out string? _); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); while (log.Count > 200) log.TryDequeue(out string? _); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Starts Redis again after it died; same port, same append-only file.</summary>
    public async Task RestartAsync(CancellationToken ct)
    {
        _process.Dispose();
        _process = Launch(_binary, _conf, _log);
        await ChildProcess.WaitForPortAsync(Port, _process, "Redis", TimeSpan.FromSeconds(30), () => string.Join('\n', _log.TakeLast(30)), ct);
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
