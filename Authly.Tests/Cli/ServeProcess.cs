using System.Diagnostics;
using System.Text;

namespace Authly.Tests.Cli;

/// <summary>
/// The built `authly serve` as a subprocess, ready once its banner's last line is printed (no
/// fixed waits). Disposing stops it with SIGTERM, so `--embedded` stops its PostgreSQL and Redis.
/// </summary>
public sealed class ServeProcess : IAsyncDisposable
{
    private const string Ready = "Press Ctrl-C to stop.";
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Url { get; }
    public string Output { get { lock (_output) return _output.ToString(); } }

    private ServeProcess(Process process, string url)
    {
        (_process, Url) = (process, url);
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.EnableRaisingEvents = true;
        _process.Exited += (_, _) => _ready.TrySetException(new AssertionException($"authly serve exited:\n{Output}"));
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
        if (line.Contains(Ready, StringComparison.Ordinal)) _ready.TrySetResult();
    }

    /// <param name="env">settings for the child (null removes one the test process has)</param>
    public static async Task<ServeProcess> StartAsync(IReadOnlyDictionary<string, string?> env, params string[] args)
    {
        var port = AuthlyCli.FreePort();
        var psi = new AuthlyCli($"http://127.0.0.1:{port}").StartInfo(env, ["serve", "--port", port.ToString(), .. args]);
        var serve = new ServeProcess(new Process { StartInfo = psi }, $"http://127.0.0.1:{port}");
        serve._process.Start();
        serve._process.BeginOutputReadLine();
        serve._process.BeginErrorReadLine();
        try { await serve._ready.Task.WaitAsync(TimeSpan.FromMinutes(2)); }
        catch (TimeoutException)
        {
            await serve.DisposeAsync();
            Assert.Fail($"authly serve did not print its banner within 2 minutes:\n{serve.Output}");
        }
        catch (AssertionException)
        {
            await serve.DisposeAsync();
            throw;
        }
        return serve;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])) await kill.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await _process.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); await _process.WaitForExitAsync(); }
        }
        _process.Dispose();
    }
}
