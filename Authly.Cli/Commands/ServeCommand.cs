using System.CommandLine;
using Authly.Configuration;
using Authly.Embedded;
using Authly.Server;

namespace Authly.Cli.Commands;

/// <summary>`authly serve`: the server, optionally with its own PostgreSQL and Redis (--embedded).</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "Address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "HTTP port", DefaultValueFactory = _ => 8000 };
        var embedded = new Option<bool>("--embedded") { Description = "Start a private PostgreSQL and Redis under --data-dir (development)" };
        var dataDir = new Option<string>("--data-dir") { Description = "Where --embedded keeps its data", DefaultValueFactory = _ => ".authly-data" };
        var pgPort = new Option<int>("--pg-port") { Description = "--embedded: PostgreSQL port (0 = a free one)", DefaultValueFactory = _ => EnvInt("AUTHLY_EMBEDDED_PG_PORT") };
        var redisPort = new Option<int>("--redis-port") { Description = "--embedded: Redis port (0 = a free one)", DefaultValueFactory = _ => EnvInt("AUTHLY_EMBEDDED_REDIS_PORT") };
        var servicesListen = new Option<string>("--services-listen")
        {
            Description = "--embedded: address PostgreSQL and Redis listen on (loopback unless you ask; passwords always required)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("AUTHLY_EMBEDDED_LISTEN") is { Length: > 0 } l ? l : "127.0.0.1",
        };
        var noMigrate = new Option<bool>("--no-migrate") { Description = "Do not apply database migrations on start" };
        var logLevel = new Option<string?>("--log-level") { Description = "trace, debug, info (Information), warning, error, critical; any case" };
        logLevel.Validators.Add(result =>
        {
            if (LogLevelName(result.GetValueOrDefault<string?>()) is null)
                result.AddError($"--log-level must be one of trace, debug, info, warning, error, critical (any case), not '{result.GetValueOrDefault<string?>()}'");
        });
        var workers = new Option<int?>("--workers")
        {
            Description = "Accepted for the original CLI guide; not needed: one process serves on all cores (Kestrel is multi-threaded). Scale out with more nodes behind a load balancer",
        };
        workers.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 1) result.AddError("--workers must be at least 1");
        });
        var seed = new Option<bool>("--seed") { Description = "Create a public demo client (PKCE, http://localhost:3000/callback) once; development only" };
        var accessLog = new Option<bool>("--access-log") { Description = "Log one line per request: method, path (no query), status, time (default)" };
        var noAccessLog = new Option<bool>("--no-access-log") { Description = "Do not log requests" };
        var command = new Command("serve", """
            Run the Authly server.

            Examples:
              authly serve --embedded                 # everything local, data in ./.authly-data
              authly serve --embedded --seed --port 9000     # plus a demo client for trying the code flow
              DATABASE_URL=postgresql://u:p@db/authly REDIS_URL=redis://cache:6379 authly serve --host 0.0.0.0 --no-access-log
              authly serve --embedded --log-level debug
            """) { host, port, embedded, dataDir, pgPort, redisPort, servicesListen, noMigrate, logLevel, workers, seed, accessLog, noAccessLog };
        command.SetAction(async (parse, ct) =>
        {
            var p = parse.GetValue(port);
            if (p is < 1 or > 65535) { Console.Error.WriteLine("error: --port must be between 1 and 65535"); return 2; }
            // A port that does not parse must not silently become "a free one": the services would move on every start.
            foreach (var (option, variable) in new[] { (pgPort, "AUTHLY_EMBEDDED_PG_PORT"), (redisPort, "AUTHLY_EMBEDDED_REDIS_PORT") })
                if (parse.GetValue(option) is < 0 or > 65535)
                {
                    Console.Error.WriteLine($"error: {option.Name} (or {variable}) must be a port number between 0 and 65535 (0 = a free one)");
                    return 2;
                }
            var h = parse.GetValue(host)!;
            var overrides = new Dictionary<string, string?>();
            if (parse.GetValue(noMigrate)) overrides["AUTHLY_MIGRATE_ON_START"] = "false";
            if (LogLevelName(parse.GetValue(logLevel)) is { } level) overrides["LOG_LEVEL"] = level;
            if (parse.GetValue(workers) is { } n)
                Console.WriteLine($"--workers {n}: not needed here, ignored: one Authly process serves requests on all CPU cores (Kestrel is multi-threaded). " +
                                  "To scale out, run several nodes behind a load balancer (they share PostgreSQL and Redis).");
            if (parse.GetValue(accessLog) && parse.GetValue(noAccessLog)) { Console.Error.WriteLine("error: give --access-log or --no-access-log, not both"); return 2; }
            SetUnlessEnv(overrides, "AUTHLY_ACCESS_LOG", parse.GetValue(noAccessLog) ? "false" : "true");
            if (parse.GetValue(noAccessLog)) overrides["AUTHLY_ACCESS_LOG"] = "false";
            var urlHost = h is "0.0.0.0" or "::" or "*" ? "localhost" : h.Contains(':') ? $"[{h}]" : h;
            EmbeddedServices? services = null;
            try
            {
                if (parse.GetValue(embedded))
                {
                    var dir = Path.GetFullPath(parse.GetValue(dataDir)!);
                    Console.WriteLine($"Starting embedded PostgreSQL and Redis in {dir} …");
                    var starting = System.Diagnostics.Stopwatch.GetTimestamp();
                    services = await EmbeddedServices.StartAsync(dir, ct: ct, options: new EmbeddedServices.Options(
                        parse.GetValue(pgPort), parse.GetValue(redisPort), parse.GetValue(servicesListen)!));
                    Console.WriteLine($"PostgreSQL and Redis are up ({System.Diagnostics.Stopwatch.GetElapsedTime(starting).TotalMilliseconds:F0} ms).");
                    overrides["DATABASE_URL"] = services.DatabaseUrl;
                    overrides["REDIS_URL"] = services.RedisUrl;
                    SetUnlessEnv(overrides, "JWT_SECRET_KEY", services.JwtSecret);
                    SetUnlessEnv(overrides, "JWT_REFRESH_SECRET_KEY", services.JwtRefreshSecret);
                    SetUnlessEnv(overrides, "AUTHLY_MODE", "embedded");
                    SetUnlessEnv(overrides, "AUTHLY_VAULT_ENCRYPTION_KEY", Authly.Vault.VaultKeyRing.LoadOrCreateKeyFile(EmbeddedServices.SecretsDir(dir)));
                }
                SetUnlessEnv(overrides, "AUTHLY_ISSUER", $"http://{urlHost}:{p}");
                var app = AuthlyWebApp.Build(["--urls", $"http://{(h.Contains(':') ? $"[{h}]" : h)}:{p}"], overrides);
                await app.StartAsync(ct);
                PrintBanner(app, services, $"http://{urlHost}:{p}");
                if (parse.GetValue(seed))
                    Console.WriteLine($"Seeded: public demo client '{DevelopmentSeed.DemoClientName}', client_id {await DevelopmentSeed.RunAsync(app.Services, ct)}");
                if (services is null)
                {
                    await app.WaitForShutdownAsync(ct);
                    return 0;
                }
                // Supervise PostgreSQL and Redis while serving; if one cannot be kept alive, stop and exit non-zero.
                var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
                var supervision = services.SuperviseAsync(m => Console.Error.WriteLine($"authly: {m}"), lifetime.ApplicationStopping);
                var shutdown = app.WaitForShutdownAsync(ct);
                if (await Task.WhenAny(supervision, shutdown) == supervision && supervision.IsFaulted)
                {
                    Console.Error.WriteLine($"authly: {supervision.Exception!.InnerException!.Message} Stopping.");
                    await app.StopAsync(CancellationToken.None);
                    return 1;
                }
                await shutdown;
                return 0;
            }
            catch (AuthlyConfigurationException e) { Console.Error.WriteLine(e.Message); return 2; }
            catch (OperationCanceledException) { return 0; }
            catch (InvalidOperationException e) { Console.Error.WriteLine($"error: {e.Message}"); return 1; }
            finally
            {
                if (services is not null) await services.DisposeAsync();
            }
        });
        return command;
    }

    /// <summary>A log level as users write it (the original guide: debug, info; .NET: Information), in .NET's spelling; null if unknown.</summary>
    public static string? LogLevelName(string? given) => given?.Trim().ToLowerInvariant() switch
    {
        "trace" => "Trace",
        "debug" => "Debug",
        "info" or "information" => "Information",
        "warn" or "warning" => "Warning",
        "error" => "Error",
        "critical" or "fatal" => "Critical",
        _ => null,
    };

    /// <summary>The port an environment variable gives, 0 when unset, or -1 when it is not a number (refused by the action).</summary>
    private static int EnvInt(string name) => Environment.GetEnvironmentVariable(name) is not { Length: > 0 } value ? 0
        : int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : -1;

    private static void SetUnlessEnv(Dictionary<string, string?> overrides, string name, string value)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name))) overrides[name] = value;
    }

    private static void PrintBanner(Microsoft.AspNetCore.Builder.WebApplication app, EmbeddedServices? services, string baseUrl)
    {
        var options = app.Services.GetRequiredService<AuthlyOptions>();
        var issuer = options.Issuer ?? baseUrl;
        Console.WriteLine($"""

            Authly {AuthlyWebApp.Version} is running
              API        {baseUrl}/api/v1
              Issuer     {issuer}
              Discovery  {issuer}/.well-known/openid-configuration
              Docs       {baseUrl}/docs
              Health     {baseUrl}/health
            """);
        // Never the passwords: a banner ends up in scrollback, CI logs and log collectors.
        if (services is not null)
            Console.WriteLine($"""
                  PostgreSQL {services.DatabaseDisplayUrl}
                  Redis      {services.RedisDisplayUrl}
                  Passwords  {services.CredentialsFile} (owner only: DATABASE_URL and REDIS_URL)
                  Data dir   {services.DataDir}
                """);
        Console.WriteLine($"""
              Admin user {options.AdminUsername}{(options.AdminPassword is null ? " (password printed above on first start, or as you set it)" : " (password from AUTHLY_ADMIN_PASSWORD)")}

            Press Ctrl-C to stop.
            """);
    }
}
