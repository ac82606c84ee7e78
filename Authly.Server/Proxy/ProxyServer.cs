using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Authly.Proxy;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Authly.Security;
using Authly.Server.Http;
using Npgsql;

namespace Authly.Server.Proxy;

/// <summary>
/// `authly proxy postgres|redis`: a small Kestrel app (POST /query or POST /command, GET /health)
/// plus, when a wire port is given, the protocol listener real clients use (psql, redis-cli).
/// Both authenticate with <see cref="ProxyTokenValidator"/> and run through the same Core proxy,
/// so the HTTP and wire paths cannot disagree on a rule.
/// </summary>
public sealed class ProxyServer : IAsyncDisposable
{
    public const string Realm = "authly-proxy";
    private const int MaxBodyBytes = 1024 * 1024;
    private readonly WebApplication _app;
    private readonly IAsyncDisposable? _wire;
    private readonly IAsyncDisposable _backend;

    /// <summary>The HTTP address the proxy listens on, e.g. http://127.0.0.1:5433.</summary>
    public string Url { get; }
    /// <summary>The wire-protocol port, when that listener runs.</summary>
    public int? WirePort { get; }

    private readonly ProxyMetrics _metrics;

    private ProxyServer(WebApplication app, string url, IAsyncDisposable backend, IAsyncDisposable? wire, int? wirePort, ProxyMetrics metrics)
    {
        _metrics = metrics;
        _app = app;
        Url = url;
        _backend = backend;
        _wire = wire;
        WirePort = wirePort;
    }

    /// <param name="kind">"postgres" or "redis"</param>
    /// <param name="authlyHttp">how to reach Authly (tests hand in the in-memory server's client); null: a new HttpClient</param>
    /// <param name="clock">the clock tokens are checked against (tests move it)</param>
    /// <param name="logLevel">overrides <see cref="ProxyOptions.LogLevel"/> (tests quieten the proxy)</param>
    /// <param name="jsonLogs">overrides <see cref="ProxyOptions.LogJson"/>: one JSON object per log line, as `authly serve` writes them</param>
    public static async Task<ProxyServer> StartAsync(string kind, ProxyOptions options, HttpClient? authlyHttp = null, TimeProvider? clock = null,
        LogLevel? logLevel = null, CancellationToken ct = default, bool? jsonLogs = null)
    {
        var problems = options.Problems(kind);
        if (problems.Count > 0) throw new ArgumentException(string.Join(Environment.NewLine, problems));
        NpgsqlDataSource? db = null;
        if (kind == "postgres")
        {
            // Before anything listens: the login and --role are checked against the live database (ProxyErrors.UnsafeDatabaseRole).
            db = new NpgsqlDataSourceBuilder(options.ConnectionString()) { Name = "authly-proxy" }.Build();
            try { await PostgresRoleCheck.VerifyAsync(db, options.DatabaseRole!, ct); }
            catch
            {
                await db.DisposeAsync();
                throw;
            }
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (jsonLogs ?? options.LogJson) builder.Logging.AddJsonConsole();
        else builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.SetMinimumLevel(logLevel ?? options.LogLevel);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning); // host chatter (content root, environment) says nothing here
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = MaxBodyBytes;
            k.AddServerHeader = false;
            k.Listen(options.ListenAddress(), options.Port);
        });
        builder.Services.Configure<OpenTelemetry.Exporter.PrometheusAspNetCoreOptions>(Metrics.AuthlyTelemetry.ConfigurePrometheus);
        var app = builder.Build();
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        if (!IPAddress.IsLoopback(options.ListenAddress()))
            loggers.CreateLogger<ProxyServer>().LogWarning(
                "The {Kind} proxy serves plain HTTP on {Address}: bearer tokens cross the network unencrypted unless a TLS-terminating " +
                "proxy (nginx, a load balancer) is the only way in", kind, options.ListenAddress());
        var http = authlyHttp ?? new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var validator = new ProxyTokenValidator(options, http, clock ?? TimeProvider.System, loggers.CreateLogger<ProxyTokenValidator>());

        var metrics = new ProxyMetrics(kind);
        app.MapPrometheusScrapingEndpoint("/metrics", metrics.Provider, configureBranchedPipeline: null, optionsName: null);
        IAsyncDisposable backend;
        IAsyncDisposable? wire = null;
        int? wirePort = null;
        if (db is not null)
        {
            backend = db;
            var proxy = new PostgresProxy(db, options, loggers.CreateLogger<PostgresProxy>());
            MapPostgres(app, validator, proxy, db, metrics);
            if (options.WirePort is { } wp)
            {
                var listener = PgWireListener.Start(options.ListenAddress(), wp,
                    validator, proxy, options, loggers.CreateLogger<PgWireListener>(), metrics);
                wire = listener;
                wirePort = listener.Port;
            }
        }
        else
        {
            var redis = new RedisUpstream(options.RedisUrl!);
            backend = redis;
            var proxy = new RedisProxy(redis);
            MapRedis(app, validator, proxy, redis, metrics);
            if (options.WirePort is { } wp)
            {
                var listener = RespListener.Start(options.ListenAddress(), wp,
                    validator, proxy, loggers.CreateLogger<RespListener>(), metrics);
                wire = listener;
                wirePort = listener.Port;
            }
        }
        await app.StartAsync(ct);
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ProxyServer(app, url.Replace("[::]", "127.0.0.1"), backend, wire, wirePort, metrics);
    }

    private static void MapPostgres(WebApplication app, ProxyTokenValidator validator, PostgresProxy proxy, NpgsqlDataSource db, ProxyMetrics metrics)
    {
        app.MapPost("/query", (Delegate)((HttpContext context) => Handle(context, metrics, async ct =>
        {
            var caller = await validator.AuthenticateRequestAsync(Authorization(context), BasicCredentials.DpopProofs(context.Request),
                context.Request.Method, RequestUrl(context.Request), ct);
            var body = await ReadBodyAsync(context, ct);
            var query = body["query"] is JsonValue q && q.GetValueKind() == JsonValueKind.String ? q.GetValue<string>()
                : throw ProxyErrors.BadRequest("'query' is required and must be a string");
            var parameters = body["params"] switch
            {
                null => [],
                JsonArray a => a.ToList(),
                _ => throw ProxyErrors.BadRequest("'params' must be an array"),
            };
            context.Items[AuditCaller] = caller;
            var result = await proxy.ExecuteAsync(caller, query, parameters, ct);
            context.Items[AuditWhat] = $"{result.Statement} rows={(result.IsQuery ? result.Rows.Count : result.AffectedRows)}";
            return PostgresProxy.ToJson(result);
        })));
        app.MapGet("/health", async (CancellationToken ct) =>
        {
            // The server's own check (SELECT 1, three seconds at most).
            if (await Endpoints.HealthEndpoints.PingDatabaseAsync(db, ct) == "connected")
                return Results.Json(new { status = "healthy", database = "connected" });
            db.Clear();
            return Results.Json(new { status = "unhealthy", database = "disconnected" }, statusCode: 503);
        });
    }

    private static void MapRedis(WebApplication app, ProxyTokenValidator validator, RedisProxy proxy, RedisUpstream redis, ProxyMetrics metrics)
    {
        app.MapPost("/command", (Delegate)((HttpContext context) => Handle(context, metrics, async ct =>
        {
            var caller = await validator.AuthenticateRequestAsync(Authorization(context), BasicCredentials.DpopProofs(context.Request),
                context.Request.Method, RequestUrl(context.Request), ct);
            var body = await ReadBodyAsync(context, ct);
            var command = body["command"] is JsonValue c && c.GetValueKind() == JsonValueKind.String ? c.GetValue<string>()
                : throw ProxyErrors.BadRequest("'command' is required and must be a string");
            var args = new List<byte[]>();
            switch (body["args"])
            {
                case null: break;
                case JsonArray a:
                    foreach (var item in a)
                        args.Add(item is JsonValue v && v.GetValueKind() is JsonValueKind.String or JsonValueKind.Number
                            ? Encoding.UTF8.GetBytes(v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString())
                            : throw ProxyErrors.BadRequest("'args' must hold strings and numbers only"));
                    break;
                default: throw ProxyErrors.BadRequest("'args' must be an array");
            }
            context.Items[AuditCaller] = caller;
            context.Items[AuditWhat] = command.ToUpperInvariant();
            var reply = await proxy.ExecuteAsync(caller, command, args, ct);
            return new JsonObject { ["result"] = RedisProxy.ToJson(reply), ["command"] = command.ToUpperInvariant(), ["user"] = caller.DisplayName };
        })));
        app.MapGet("/health", async (CancellationToken ct) =>
        {
            bool healthy;
            try { healthy = (await redis.SendAsync([Encoding.ASCII.GetBytes("PING")], idempotent: true, ct)).Kind != RespKind.Error; }
            catch (AuthlyException) { healthy = false; } // Cache unavailable (503)
            return healthy
                ? Results.Json(new { status = "healthy", redis = "connected" })
                : Results.Json(new { status = "unhealthy", redis = "disconnected" }, statusCode: 503);
        });
    }

    /// <summary>
    /// The URL a DPoP proof names (htu): as this proxy was addressed. Behind a TLS-terminating proxy that rewrites the scheme
    /// or host, proofs name the public URL and do not match: such a front must pass Host and X-Forwarded-Proto on.
    /// </summary>
    private static string RequestUrl(HttpRequest request)
    {
        var scheme = request.Headers["X-Forwarded-Proto"].Count == 1 && request.Headers["X-Forwarded-Proto"][0] is "http" or "https"
            ? request.Headers["X-Forwarded-Proto"][0]! : request.Scheme;
        return $"{scheme}://{request.Host}{request.PathBase}{request.Path}";
    }

    private static string? Authorization(HttpContext context) =>
        context.Request.Headers.Authorization.Count == 1 ? context.Request.Headers.Authorization[0] : null;

    private static async Task<JsonObject> ReadBodyAsync(HttpContext context, CancellationToken ct)
    {
        if (!Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var type)
            || !type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            throw ProxyErrors.UnsupportedMediaType("The body must be JSON (Content-Type: application/json)");
        try
        {
            return await JsonNode.ParseAsync(context.Request.Body, cancellationToken: ct) as JsonObject
                   ?? throw ProxyErrors.BadRequest("The body must be a JSON object");
        }
        catch (JsonException) { throw ProxyErrors.BadRequest("The body is not valid JSON"); }
        catch (BadHttpRequestException e) when (e.StatusCode == 413) { throw ProxyErrors.TooLarge($"The body is larger than {MaxBodyBytes} bytes"); }
    }

    public const string AuditCategory = "Authly.Proxy.Audit";
    private const string AuditCaller = "authly.proxy.caller";
    private const string AuditWhat = "authly.proxy.what";

    /// <summary>
    /// One line per proxied request: who (subject and client from the token), what (the statement's
    /// class or the Redis command, never the SQL, its values or keys), the status and the time.
    /// </summary>
    private static void Audit(ILogger log, HttpContext context, long started)
    {
        if (!log.IsEnabled(LogLevel.Information)) return;
        var caller = context.Items[AuditCaller] as ProxyPrincipal;
        log.LogInformation("{Path} {Status} {Milliseconds:0.0}ms sub={Subject} client={ClientId} {What} from {Remote}",
            context.Request.Path.Value, context.Response.StatusCode, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            caller?.Subject ?? "-", LogText.Safe(caller?.ClientId ?? "-"), LogText.Safe(context.Items[AuditWhat] as string ?? "-"),
            context.Connection.RemoteIpAddress);
    }

    /// <summary>
    /// Runs a handler. The HTTP wire's one mapper: an <see cref="AuthlyException"/> becomes <c>{"error": detail}</c> with its
    /// status and, for 401/403, the RFC 6750 §3 <c>WWW-Authenticate</c> of <see cref="Challenge"/>; anything else is a 500.
    /// </summary>
    private static async Task<IResult> Handle(HttpContext context, ProxyMetrics metrics, Func<CancellationToken, Task<JsonObject>> handler)
    {
        context.Response.Headers.CacheControl = "no-store";
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        // Resolved now: the request's services are gone by the time the response has completed.
        var audit = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(AuditCategory);
        context.Response.OnCompleted(() =>
        {
            metrics.Record("http", context.Response.StatusCode, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            Audit(audit, context, started);
            return Task.CompletedTask;
        });
        try
        {
            return Results.Json(await handler(context.RequestAborted));
        }
        catch (AuthlyException e)
        {
            if (e.Status is 401 or 403)
                context.Response.Headers.WWWAuthenticate = Challenge(e, triedBearer: Authorization(context) is { } h
                    && (h.StartsWith("Bearer", StringComparison.OrdinalIgnoreCase) || h.StartsWith("DPoP", StringComparison.OrdinalIgnoreCase)),
                    dpop: Authorization(context)?.StartsWith("DPoP", StringComparison.OrdinalIgnoreCase) == true || e.Detail == ProxyErrors.DpopBoundToken);
            return Results.Json(new JsonObject { ["error"] = e.Detail }, statusCode: e.Status);
        }
        catch (Authly.OAuth.OAuthException e) when (e.DpopChallenge)
        {
            // RFC 9449 §7.1: a DPoP proof that failed (ProxyTokenValidator.AuthenticateRequestAsync).
            context.Response.Headers.WWWAuthenticate = DpopChallenge.Header(e.Error, e.Description);
            return Results.Json(new JsonObject { ["error"] = e.Description }, statusCode: 401);
        }
        catch (Exception e) when (e is not OperationCanceledException || !context.RequestAborted.IsCancellationRequested)
        {
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger<ProxyServer>()
                .LogError(e, "Proxy request {Path} failed", context.Request.Path.Value);
            return Results.Json(new JsonObject { ["error"] = "Internal error" }, statusCode: 500);
        }
    }

    /// <summary>
    /// RFC 6750 §3: the challenge with the error code. A request that did not try Bearer at all (no
    /// Authorization header, or another scheme such as Basic) gets none: §3.1 "If the request lacks
    /// any authentication information (e.g., … attempted using an unsupported authentication
    /// method), the resource server SHOULD NOT include an error code". A malformed Bearer header is
    /// invalid_request, a bad token invalid_token, a missing scope insufficient_scope.
    /// </summary>
    /// <param name="dpop">RFC 9449 §7.1: the request used the DPoP scheme, or presented a bound token as Bearer: a DPoP challenge</param>
    public static string Challenge(AuthlyException e, bool triedBearer, bool dpop = false)
    {
        var error = e.Code is ProxyErrors.InvalidRequest or ProxyErrors.InvalidTokenCode or ProxyErrors.InsufficientScope ? e.Code : null;
        if (dpop) return DpopChallenge.Header(e.Status == 401 && !triedBearer ? null : error, error is null ? null : e.Detail);
        if (error is null || (e.Status == 401 && !triedBearer)) return BearerChallenge.Header(realm: Realm);
        return BearerChallenge.Header(error, e.Detail, e.RequiredScope, Realm);
    }

    /// <summary>Until Ctrl-C or SIGTERM (the host's lifetime handles both) or <paramref name="ct"/>.</summary>
    public Task WaitForShutdownAsync(CancellationToken ct) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        if (_wire is not null) await _wire.DisposeAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _backend.DisposeAsync();
        _metrics.Dispose();
    }
}
