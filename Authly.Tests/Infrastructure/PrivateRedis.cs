using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using Authly.Embedded;

namespace Authly.Tests.Infrastructure;

/// <summary>
/// A redis-server of one fixture's own, on a free loopback port, that can be killed (SIGKILL) and started again on
/// the same port for real. The harness Redis is shared by every fixture and must stay up. No persistence: after a
/// kill, Redis comes back empty, as one that lost its memory does (the worst case for counters kept only there).
/// </summary>
public sealed class PrivateRedis : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _log = new();
    private Process? _process;
    public int Port { get; }
    public string Url => $"redis://127.0.0.1:{Port}";

    private PrivateRedis(int port) => Port = port;

    public static async Task<PrivateRedis> StartAsync()
    {
        var redis = new PrivateRedis(Cluster.AuthlyNode.FreePort());
        await redis.RestartAsync();
        return redis;
    }

    /// <summary>Starts redis-server on <see cref="Port"/> and waits until it answers PING.</summary>
    public async Task RestartAsync()
    {
        if (_process is { HasExited: false }) throw new InvalidOperationException("Redis is running");
        _process?.Dispose();
        var psi = new ProcessStartInfo(EmbeddedRedis.FindBinary())
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning" })
            psi.ArgumentList.Add(a);
        var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) _log.Enqueue(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) _log.Enqueue(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (p.HasExited) throw new InvalidOperationException($"redis-server exited ({p.ExitCode}): {string.Join('\n', _log)}");
            if (await PingAsync()) return;
            await Task.Delay(50);
        }
        throw new TimeoutException($"redis-server on {Port} did not answer PING: {string.Join('\n', _log)}");
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync("127.0.0.1", Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var n = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(2));
            return n > 0 && buffer[0] == (byte)'+';
        }
        catch (Exception e) when (e is SocketException or IOException or TimeoutException) { return false; }
    }

    /// <summary>SIGKILL, as a crash or an OOM kill: no shutdown, connections reset.</summary>
    public async Task KillAsync()
    {
        if (_process is null || _process.HasExited) return;
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }
}
