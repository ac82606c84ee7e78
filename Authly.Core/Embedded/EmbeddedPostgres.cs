using System.Collections.Concurrent;
using System.Diagnostics;
using Authly.Security;
using Npgsql;

namespace Authly.Embedded;

/// <summary>
/// A private PostgreSQL cluster under a data directory: initdb on first run, then postgres on a
/// free loopback port with a generated password (scram-sha-256 on TCP). As root it runs as the
/// postgres system user, because PostgreSQL refuses to run as root.
/// </summary>
public sealed class EmbeddedPostgres : IAsyncDisposable
{
    private const string SystemUser = "postgres";
    private const string Superuser = "authly";
    private Process _process;
    private readonly string _binDir;
    private readonly string _listen;
    private readonly string _pgData;
    private readonly ConcurrentQueue<string> _log;

    public int Port { get; }
    public string Password { get; }
    public string ServerUrl(string database) => $"postgresql://{Superuser}:{Uri.EscapeDataString(Password)}@127.0.0.1:{Port}/{database}";
    /// <summary>The same URL without the password: for banners and logs.</summary>
    public string DisplayUrl(string database) => $"postgresql://{Superuser}@127.0.0.1:{Port}/{database}";

    private EmbeddedPostgres(Process process, string binDir, string pgData, int port, string password, ConcurrentQueue<string> log, string listen)
        => (_process, _binDir, _pgData, Port, Password, _log, _listen) = (process, binDir, pgData, port, password, log, listen);

    public bool HasExited => _process.HasExited;

    public static string FindBinDir()
    {
        var fromEnv = Environment.GetEnvironmentVariable("AUTHLY_PG_BIN");
        if (!string.IsNullOrEmpty(fromEnv) && File.Exists(Path.Combine(fromEnv, "postgres"))) return fromEnv;
        if (Directory.Exists("/usr/lib/postgresql"))
        {
            var best = Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
                .Where(x => File.Exists(Path.Combine(x.Dir, "postgres")) && File.Exists(Path.Combine(x.Dir, "initdb")))
                .OrderByDescending(x => x.Version).FirstOrDefault();
            if (best.Dir is not null) return best.Dir;
        }
        throw new InvalidOperationException(
            "PostgreSQL server binaries were not found (looked in /usr/lib/postgresql/*/bin and $AUTHLY_PG_BIN). " +
            "Install them with 'apt-get install postgresql' (Debian/Ubuntu).");
    }

    /// <param name="port">0 for a free loopback port</param>
    /// <param name="listen">the address PostgreSQL listens on; anything but loopback also opens pg_hba (password required)</param>
    public static async Task<EmbeddedPostgres> StartAsync(string dataDir, CancellationToken ct, int port = 0, string listen = "127.0.0.1")
    {
        var binDir = FindBinDir();
        Directory.CreateDirectory(dataDir);
        var pgData = Path.Combine(Path.GetFullPath(dataDir), "postgres");
        var runAs = ChildProcess.IsRoot ? SystemUser : null;
        var secrets = EmbeddedServices.SecretsDir(dataDir);
        var passwordFile = Path.Combine(secrets, "postgres.password");
        if (!File.Exists(passwordFile)) ChildProcess.WriteSecretFile(passwordFile, OpaqueToken.New(24));
        var password = File.ReadAllText(passwordFile).Trim();

        if (!File.Exists(Path.Combine(pgData, "PG_VERSION")))
        {
            Directory.CreateDirectory(pgData);
            // initdb wants an empty directory, so the one-time password file sits beside it.
            var pwTemp = Path.Combine(Path.GetDirectoryName(pgData)!, ".initdb-pw");
            ChildProcess.WriteSecretFile(pwTemp, password);
            if (runAs is not null)
            {
                await ChildProcess.RunCheckedAsync("chown", ["-R", $"{SystemUser}:", pgData, pwTemp], null, ct);
                var (code, _) = await ChildProcess.RunAsync("test", ["-w", pgData], runAs, ct);
                if (code != 0)
                    throw new InvalidOperationException(
                        $"The postgres system user cannot reach {pgData} (a parent folder is closed to other users). " +
                        "Choose a --data-dir under /tmp, /var/lib or /srv.");
            }
            File.SetUnixFileMode(pgData, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            try
            {
                await ChildProcess.RunCheckedAsync(Path.Combine(binDir, "initdb"),
                    ["-D", pgData, "-U", Superuser, "--pwfile", pwTemp, "-E", "UTF8", "--locale=C",
                     "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"], runAs, ct);
            }
            finally { File.Delete(pwTemp); }
        }

        if (listen is not ("127.0.0.1" or "localhost" or "::1")) await OpenHbaAsync(pgData, runAs, ct);
        if (port == 0) port = ChildProcess.FreeLoopbackPort();
        var log = new ConcurrentQueue<string>();
        var pg = new EmbeddedPostgres(Launch(binDir, pgData, port, listen, log), binDir, pgData, port, password, log, listen);
        try
        {
            await ChildProcess.WaitForPortAsync(port, pg._process, "PostgreSQL", TimeSpan.FromSeconds(60), pg.RecentLog, ct);
            await pg.WaitForLoginAsync(ct);
        }
        catch
        {
            await pg.DisposeAsync();
            throw;
        }
        return pg;
    }

    private static Process Launch(string binDir, string pgData, int port, string listen, ConcurrentQueue<string> log)
    {
        // The socket lives in the 0700 cluster directory; 0700 on the socket itself as well (default 0777).
        List<string> args = ["-D", pgData, "-p", port.ToString(), "-c", $"listen_addresses={listen}", "-c", $"unix_socket_directories={pgData}",
             "-c", "unix_socket_permissions=0700",
             "-c", "max_connections=200", "-c", "logging_collector=off"];
        // Per-statement counts and costs (calls, rows, buffers) for whoever diagnoses this cluster, and for bench/run.sh's
        // statements per request (issue 14); queried only after CREATE EXTENSION pg_stat_statements. Loaded when the
        // PostgreSQL package ships it (Debian's postgresql-NN does), never required.
        if (File.Exists(Path.Combine(binDir, "..", "lib", "pg_stat_statements.so")))
            args.AddRange(["-c", "shared_preload_libraries=pg_stat_statements"]);
        var psi = ChildProcess.StartInfo(Path.Combine(binDir, "postgres"), args, ChildProcess.IsRoot ? SystemUser : null);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Keep(log, e.Data);
        process.ErrorDataReceived += (_, e) => Keep(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Starts PostgreSQL again after it died (the supervisor calls this); same port, same data.</summary>
    public async Task RestartAsync(CancellationToken ct)
    {
        _process.Dispose();
        _process = Launch(_binDir, _pgData, Port, _listen, _log);
        await ChildProcess.WaitForPortAsync(Port, _process, "PostgreSQL", TimeSpan.FromSeconds(60), RecentLog, ct);
        await WaitForLoginAsync(ct);
    }

    /// <summary>Listening beyond loopback: allow password (scram) logins from any address. Never trust.</summary>
    private static async Task OpenHbaAsync(string pgData, string? runAs, CancellationToken ct)
    {
        var hba = Path.Combine(pgData, "pg_hba.conf");
        var text = await File.ReadAllTextAsync(hba, ct);
        if (text.Contains("# authly: remote", StringComparison.Ordinal)) return;
        await File.AppendAllTextAsync(hba, "\n# authly: remote clients, password required\nhost all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n", ct);
        if (runAs is not null) await ChildProcess.RunCheckedAsync("chown", [$"{SystemUser}:", hba], null, ct);
    }

    private static void Keep(ConcurrentQueue<string> log, string? line)
    {
        if (line is null) return;
        log.Enqueue(line);
        while (log.Count > 200) log.TryDequeue(out _);
    }

    public string RecentLog() => string.Join(Environment.NewLine, _log.TakeLast(30));

    private async Task WaitForLoginAsync(CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await using var conn = new NpgsqlConnection(Storage.DatabaseUrl.ToConnectionString(ServerUrl("postgres")) + ";Pooling=false");
                await conn.OpenAsync(ct);
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                // "the database system is starting up"
                await Task.Delay(100, ct);
            }
        }
    }

    /// <summary>Creates a database when missing, optionally from a template. Names are checked: they are identifiers in DDL.</summary>
    public async Task EnsureDatabaseAsync(string name, string? template, CancellationToken ct)
    {
        CheckIdentifier(name);
        if (template is not null) CheckIdentifier(template);
        await using var conn = new NpgsqlConnection(Storage.DatabaseUrl.ToConnectionString(ServerUrl("postgres")) + ";Pooling=false");
        await conn.OpenAsync(ct);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", conn) { Parameters = { new() { Value = name } } };
        if (await exists.ExecuteScalarAsync(ct) is not null) return;
        // Identifiers cannot be bound as parameters; CheckIdentifier allows only [a-z0-9_].
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"" + (template is null ? "" : $" TEMPLATE \"{template}\""), conn);
        await create.ExecuteNonQueryAsync(ct);
    }

    private static void CheckIdentifier(string name)
    {
        if (name.Length is 0 or > 63 || !name.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '_'))
            throw new ArgumentException($"'{name}' is not a plain database name (a-z, 0-9, _).");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process.HasExited) { _process.Dispose(); return; }
        try
        {
            // Fast shutdown: roll back open transactions and close client connections, then checkpoint.
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await ChildProcess.RunAsync(Path.Combine(_binDir, "pg_ctl"), ["stop", "-D", _pgData, "-m", "fast", "-w", "-t", "15"],
                ChildProcess.IsRoot ? SystemUser : null, cts.Token);
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (Exception)
        {
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        }
        _process.Dispose();
    }
}
