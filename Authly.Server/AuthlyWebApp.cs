using System.Reflection;
using Authly.Configuration;
using Authly.Counters;
using Authly.Server.Endpoints;
using Authly.Server.Http;
using Authly.Server.Pages;
using Authly.Server.Metrics;
using Authly.Tokens;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.OpenApi;

namespace Authly.Server;

/// <summary>Builds the Authly web application: configuration, the Core engine, middleware and routes.</summary>
public static class AuthlyWebApp
{
    public const string PublicCors = "public";
    public static string Version { get; } =
        typeof(AuthlyWebApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <param name="overrides">settings that win over the environment (the embedded launcher's URLs and secrets)</param>
    public static WebApplication Build(string[] args, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (overrides is not null) builder.Configuration.AddInMemoryCollection(overrides);
        var config = builder.Configuration;
        var options = AuthlyOptions.Load(key => config[key]);

        builder.Logging.ClearProviders();
        if (options.LogJson) builder.Logging.AddJsonConsole(o => o.IncludeScopes = true);
        else builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.SetMinimumLevel(Enum.Parse<LogLevel>(options.LogLevel));
        // Request lines can carry codes and tokens in query strings; ASP.NET's own info logs are not needed.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        if (options.AccessLog) builder.Logging.AddFilter(AccessLog.Category, LogLevel.Information);

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = SecurityHeaders.MaxBodyBytes;
            k.AddServerHeader = false;
        });
        builder.Services.AddAuthlyCore(options);
        builder.Services.AddSingleton<ClientAddress>();
        builder.Services.AddSingleton<OAuthErrorFilter>();
        builder.Services.AddSingleton<ApiErrorFilter>();
        builder.Services.AddSingleton<AdminAuthorizationFilter>();
        builder.Services.AddSingleton<BearerUserFilter>();
        builder.Services.AddSingleton<Csrf>();
        builder.Services.AddSingleton<BrowserSession>();
        builder.Services.AddSingleton<Metrics.AuthlyMetrics>();
        builder.Services.AddAuthlyTelemetry(config);
        builder.Services.AddHostedService<StartupService>();
        builder.Services.AddHostedService<ExpiredRowSweeping>();
        builder.Services.AddHostedService<SigningKeyRotating>();
        builder.Services.AddHostedService<BackchannelLogoutSending>();
        builder.Services.AddSingleton<ShutdownDrain>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ShutdownDrain>());
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownDrain + ShutdownDrain.InFlightGrace);
        builder.Services.AddAuthlyBindingErrors();
        builder.Services.AddCors(c => c.AddPolicy(PublicCors, p => p.AllowAnyOrigin().AllowAnyHeader().WithMethods("GET", "POST")
            .WithExposedHeaders(OAuth.Dpop.DpopProofValidator.NonceHeaderName, "WWW-Authenticate")));
        builder.Services.AddOpenApi(o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Authly";
            doc.Info.Version = Version;
            doc.Info.Description = "OAuth 2.1 and OpenID Connect authorization server";
            return Task.CompletedTask;
        }));

        var app = builder.Build();
        // The meter provider listens before the instruments are created, so it sees every one (and the zeros they start at).
        app.Services.GetRequiredService<OpenTelemetry.Metrics.MeterProvider>();
        app.Services.GetRequiredService<Metrics.AuthlyMetrics>();
        app.UseRequestMetricsAndCorrelation(logScopes: options.LogJson);
        var drain = app.Services.GetRequiredService<ShutdownDrain>();
        app.Use((context, next) =>
        {
            if (drain.Draining) context.Response.Headers.Connection = "close"; // move keep-alive clients to another node
            return next(context); // RequestDelegate overload: Use(Func<Task>) allocates a closure per request
        });
        if (options.AccessLog) app.UseAuthlyAccessLog(queued: !options.LogJson);
        app.UseAuthlySecurityHeaders();
        app.UseAuthlyOutageResponses(); // and binding errors (BindingErrors): one try/catch for both
        // CorsMiddleware takes its policy provider from the request's services, i.e. opens a DI scope for every request
        // (16% of a /health/live answer in issue 14's profile). It acts only on requests that carry Origin, and marks a
        // route with CORS metadata as seen (the endpoint middleware refuses such a route otherwise): only those pass it.
        app.UseWhen(http => http.Request.Headers.ContainsKey(Microsoft.Net.Http.Headers.HeaderNames.Origin)
                            || http.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Cors.Infrastructure.ICorsMetadata>() is not null,
            cors => cors.UseCors());
        app.MapOpenApi("/openapi.json");
        // The UI's middleware matches its prefix with a regex and runs a static-file middleware on every
        // request it sees (5% of a /health/live answer in the profile): only /docs requests go through it.
        app.UseWhen(http => http.Request.Path.StartsWithSegments("/docs"), docs => docs.UseSwaggerUI(o =>
        {
            o.RoutePrefix = "docs";
            o.SwaggerEndpoint("/openapi.json", "Authly");
            o.DocumentTitle = "Authly API";
        }));
        MapRoutes(app);
        return app;
    }

    public static void MapRoutes(WebApplication app)
    {
        var oauth = app.MapGroup("/api/v1/oauth").WithTags("oauth").AddEndpointFilter<OAuthErrorFilter>().DisableAntiforgery();
        oauth.MapTokenEndpoint();
        oauth.MapIntrospectionEndpoint();
        oauth.MapRevocationEndpoint();
        oauth.MapDeviceAuthorizationEndpoint();
        oauth.MapClientRegistrationEndpoint(app.Services.GetRequiredService<AuthlyOptions>());
        oauth.MapPushedAuthorizationEndpoint();
        app.MapAuthorizeEndpoint();
        app.MapLoginEndpoints();
        app.MapPasskeyEndpoints();
        app.MapSecondFactorEndpoints();
        app.MapDevicePages();
        app.MapOidcEndpoints();
        app.MapUsersEndpoints();
        app.MapStaticAssets();
        app.MapDiscoveryEndpoints();
        app.MapHealthEndpoints();
        app.MapMetricsEndpoint();
        app.MapAdminEndpoints();
        app.MapVaultEndpoints();
    }

    /// <summary>
    /// The per-IP rate limit of a route (<see cref="RateLimitFilter"/>). Over it the limiter throws a
    /// <see cref="ThrottledException"/>; the route's error filter gives it its shape (OAuth: 429 invalid_request,
    /// APIs: 429 RATE_LIMITED), with Retry-After either way.
    /// </summary>
    public static RouteHandlerBuilder RateLimited(this RouteHandlerBuilder route, string bucket) =>
        route.AddEndpointFilterFactory((factory, next) =>
        {
            var services = factory.ApplicationServices;
            var filter = new RateLimitFilter(services.GetRequiredService<RateLimiter>(), services.GetRequiredService<ClientAddress>(), bucket);
            return ctx => filter.InvokeAsync(ctx, next);
        });

    /// <summary>
    /// Documents a form body in OpenAPI. Not Accepts(): that also adds routing metadata, and routing then answers
    /// any other Content-Type with a bare 415 before the OAuth error filter runs, where RFC 6749 §5.2 needs
    /// a JSON invalid_request with no-store.
    /// </summary>
    public static RouteHandlerBuilder DocumentsFormBody(this RouteHandlerBuilder route) =>
        route.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/x-www-form-urlencoded"] = new() },
            };
            return Task.CompletedTask;
        });

    /// <summary>Runs migrations, the admin bootstrap and key loading before the server accepts requests; fixes the issuer.</summary>
    private sealed class StartupService(AuthlyStartup startup, Issuer issuer, AuthlyOptions options, IServer server,
        IHostApplicationLifetime lifetime, ILogger<StartupService> log, Vault.VaultKeyRing vaultKeys, ILoggerFactory loggers) : IHostedService
    {
        public async Task StartAsync(CancellationToken ct)
        {
            // Where the time to ready goes (bench/startup.sh): host and embedded services before this point, listening after.
            if (log.IsEnabled(LogLevel.Debug))
            {
                log.LogDebug("Start-up: start-up work begins {Ms:F0} ms after the process started.", SinceProcessStart());
                lifetime.ApplicationStarted.Register(() => log.LogDebug("Start-up: listening {Ms:F0} ms after the process started.", SinceProcessStart()));
            }
            lifetime.ApplicationStarted.Register(() =>
            {
                var vaultLog = loggers.CreateLogger("Authly.Vault");
                if (vaultKeys.DisabledReason is { } reason) vaultLog.LogWarning("{Reason}", reason);
                else vaultLog.LogInformation("Token vault on: key {KeyId} ({Source}), {Previous} previous key(s).", vaultKeys.Current!.Id, vaultKeys.Source, vaultKeys.All.Count - 1);
            });
            if (options.Issuer is not null) issuer.Set(options.Issuer);
            else lifetime.ApplicationStarted.Register(() =>
            {
                var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? "http://localhost";
                issuer.Set(address.Replace("://0.0.0.0", "://localhost").Replace("://[::]", "://localhost").Replace("://+", "://localhost"));
                log.LogInformation("Issuer: {Issuer} (set AUTHLY_ISSUER to fix it).", issuer.Value);
            });
            // The key ring is loaded by startup; the issuer is needed only once requests flow.
            var result = await startup.RunAsync(ct);
            if (result.GeneratedPassword is not null)
                // Printed once, to the console only, so the operator can sign in; it must be changed at first login.
                Console.WriteLine($"\n  Admin account '{result.User.Username}' created with generated password: {result.GeneratedPassword}\n" +
                                  "  It must be changed at first login. It is not shown again.\n");
        }

        public Task StopAsync(CancellationToken ct) => Task.CompletedTask;

        private static double SinceProcessStart()
        {
            using var self = System.Diagnostics.Process.GetCurrentProcess();
            return (DateTime.Now - self.StartTime).TotalMilliseconds;
        }
    }
}
