using System.Diagnostics;

namespace Authly.Tests.Cli;

/// <summary>Runs the built `authly` (Authly.Cli/bin/&lt;config&gt;/net10.0/authly.dll) as a subprocess with its own config directory.</summary>
public sealed class AuthlyCli(string apiUrl)
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    // Config directories hold token files: they go when the test run ends.
    private static readonly System.Collections.Concurrent.ConcurrentBag<string> Created = [];

    static AuthlyCli() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var dir in Created)
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    };

    public string ConfigDir { get; } = NewConfigDir();

    private static string NewConfigDir()
    {
        var dir = Directory.CreateTempSubdirectory("authly-cli-").FullName;
        Created.Add(dir);
        return dir;
    }
    public string ApiUrl { get; } = apiUrl;
    public string TokenFile => Path.Combine(ConfigDir, "tokens.json");

    public static string Dll()
    {
        var testDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var (framework, configuration) = (testDir.Name, testDir.Parent!.Name);
        var root = testDir.Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(root, "Authly.Cli", "bin", configuration, framework, "authly.dll");
        if (!File.Exists(dll)) Assert.Fail($"{dll} is missing: build the solution (dotnet build Authly.sln -c {configuration}) before running the CLI tests.");
        return dll;
    }

    public ProcessStartInfo StartInfo(IReadOnlyDictionary<string, string?>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add(Dll());
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["AUTHLY_CONFIG_DIR"] = ConfigDir;
        psi.Environment["AUTHLY_API_URL"] = ApiUrl;
        psi.Environment["HOME"] = ConfigDir;
        psi.Environment["DOTNET_NOLOGO"] = "1";
        if (env is not null)
            foreach (var (k, v) in env)
                if (v is null) psi.Environment.Remove(k); else psi.Environment[k] = v;
        return psi;
    }

    public Task<Result> RunAsync(params string[] args) => RunWithAsync(null, null, args);

    public async Task<Result> RunWithAsync(string? stdin, IReadOnlyDictionary<string, string?>? env, params string[] args)
    {
        using var process = Process.Start(StartInfo(env, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"authly {string.Join(' ', args)} did not exit within 60 s");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// Runs authly on a pseudo-terminal (python3's pty): waits for <paramref name="prompt"/>, types
    /// <paramref name="typed"/> and Enter, and returns the exit code and everything the terminal showed,
    /// echo included, so a test can see whether typed input was echoed.
    /// </summary>
    public async Task<(int ExitCode, string Output)> RunOnTerminalAsync(string prompt, string typed, params string[] args)
    {
        var script = Path.Combine(ConfigDir, "run_on_pty.py");
        await File.WriteAllTextAsync(script, """
            import os, pty, select, sys, time
            prompt, typed = sys.argv[1].encode(), sys.argv[2].encode()
            argv = sys.argv[3:]
            pid, fd = pty.fork()
            if pid == 0:
                os.execvp(argv[0], argv)
            out = b""
            def pump(until=None, seconds=45):
                global out
                end = time.time() + seconds
                while time.time() < end:
                    if until is not None and until in out:
                        return True
                    r, _, _ = select.select([fd], [], [], 0.2)
                    if r:
                        try:
                            chunk = os.read(fd, 4096)
                        except OSError:
                            return False
                        if not chunk:
                            return False
                        out += chunk
                return False
            if not pump(prompt):
                sys.stdout.write(out.decode(errors="replace"))
                sys.exit(90)
            # Type only once the program waits for input: earlier keys would be echoed by the terminal itself.
            time.sleep(0.5)
            os.write(fd, typed + b"\r")
            pump(None, 30)
            _, status = os.waitpid(pid, 0)
            sys.stdout.write(out.decode(errors="replace"))
            sys.exit(os.waitstatus_to_exitcode(status))
            """);
        var psi = StartInfo(null);
        psi.FileName = "python3";
        psi.ArgumentList.Clear();
        foreach (var a in new[] { script, prompt, typed, "dotnet", Dll() }.Concat(args)) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"authly {string.Join(' ', args)} on a terminal did not exit within 90 s");
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    public static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
