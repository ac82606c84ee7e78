using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Authly.Tests.Cluster;

/// <summary>One real Authly server process (Kestrel on a loopback port), as an operator would run it.</summary>
public sealed class AuthlyNode : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];
    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}";

    private AuthlyNode(Process process, int port) => (_process, Port) = (process, port);

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Authly.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (Authly.sln) above " + AppContext.BaseDirectory);
    }

    /// <summary>The built server: Authly.Server/bin/&lt;same configuration as the tests&gt;/net10.0/Authly.Server.dll.</summary>
    public static string ServerDll()
    {
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name; // …/bin/<Configuration>/net10.0
        var dll = Path.Combine(RepoRoot(), "Authly.Server", "bin", configuration, "net10.0", "Authly.Server.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"{dll} is missing; build the solution first.");
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public static async Task<AuthlyNode> StartAsync(IReadOnlyDictionary<string, string> environment, int? port = null)
    {
        var p = port ?? FreePort();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(ServerDll());
        psi.ArgumentList.Add("--urls");
        psi.ArgumentList.Add($"http://127.0.0.1:{p}");
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        var process = Process.Start(psi)!;
        var node = new AuthlyNode(process, p);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (node._output) node._output.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (node._output) node._output.Add(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"Authly node exited with {process.ExitCode}:\n{node.Output}");
            try
            {
                if ((await http.GetAsync(node.Url + "/health/ready")).IsSuccessStatusCode) return node;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        await node.DisposeAsync();
        throw new TimeoutException($"Authly node on {p} did not become ready:\n{node.Output}");
    }

    public string Output { get { lock (_output) return string.Join('\n', _output.TakeLast(40)); } }

    /// <summary>SIGKILL: the node dies with whatever it had in flight, as in a crash.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
    }

    /// <summary>SIGTERM, as an orchestrator sends it before a rolling restart: the node drains and exits on its own.</summary>
    public void Terminate()
    {
        if (!_process.HasExited && kill(_process.Id, SigTerm) != 0)
            throw new InvalidOperationException($"kill({_process.Id}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>The exit code once the process has exited, or null if it is still running at the deadline.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { return null; }
        return _process.ExitCode;
    }

    private const int SigTerm = 15;
    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
