using Authly.Security;
using Authly.Server.Pages;
using Authly.Storage;

namespace Authly.Server.Http;

/// <summary>
/// The last resort for a dependency outage that no endpoint filter mapped (pages, the authorization
/// endpoint, anything added later): 503 + Retry-After in the shape the route speaks, never a bare 500.
/// OAuth JSON endpoints get RFC 6749 §5.2 temporarily_unavailable, the JSON APIs DATABASE_UNAVAILABLE,
/// and everything a browser sees (including the authorization endpoint, which must not redirect
/// with server_error when it could not check the request) a 503 page. The same try/catch writes the binding errors of
/// <see cref="BindingErrors"/>.
/// </summary>
public static class OutageResponses
{
    public static IApplicationBuilder UseAuthlyOutageResponses(this IApplicationBuilder app)
    {
        var log = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OutageResponses).FullName!);
        return app.Use(async (http, next) =>
        {
            try { await next(http); }
            catch (BadHttpRequestException e) when (!http.Response.HasStarted) { await BindingErrors.WriteAsync(http, e); }
            catch (Exception e) when (DependencyOutage.Is(e) && !http.Response.HasStarted && !http.RequestAborted.IsCancellationRequested)
            {
                log.LogWarning("Dependency unavailable on {Path}: {Error}", LogText.Safe(http.Request.Path), LogText.Safe(e.Message));
                http.Response.Clear();
                await WriteAsync(http, e);
            }
        });
    }

    private static Task WriteAsync(HttpContext http, Exception e)
    {
        http.Response.Headers.RetryAfter = DependencyOutage.RetryAfterSeconds.ToString();
        var path = http.Request.Path;
        IResult result;
        if (IsPage(path))
        {
            OAuthErrorFilter.NoStore(http.Response);
            result = PageErrors.Unavailable();
        }
        else if (path.StartsWithSegments("/api/v1/oauth") || path.StartsWithSegments("/oidc/userinfo"))
            result = OAuthErrorFilter.Write(http, OAuthErrorFilter.Unavailable(e));
        else
            result = ApiErrorFilter.Write(ApiErrorFilter.Unavailable);
        return result.ExecuteAsync(http);
    }

    private static bool IsPage(PathString path) =>
        path.StartsWithSegments("/api/v1/oauth/authorize") || path.StartsWithSegments("/api/v1/vault/connect")
        || path.StartsWithSegments(Vault.VaultConnect.CallbackPath) || !IsJson(path);

    private static bool IsJson(PathString path) =>
        path.StartsWithSegments("/api") || path.StartsWithSegments("/admin") || path.StartsWithSegments("/oidc/userinfo")
        || path.StartsWithSegments("/oidc/session/check") || path.StartsWithSegments("/.well-known") || path.StartsWithSegments("/health");
}
