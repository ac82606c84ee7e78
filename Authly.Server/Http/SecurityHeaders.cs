namespace Authly.Server.Http;

/// <summary>Headers on every response; a strict CSP everywhere but the OpenAPI UI, which needs its own scripts and styles.</summary>
public static class SecurityHeaders
{
    public const long MaxBodyBytes = 1024 * 1024;

    private const string ApiCsp = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    private const string DocsCsp = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

    // Not an async lambda: a request within the limit (all but the refused ones) goes on without a state machine of its own.
    public static IApplicationBuilder UseAuthlySecurityHeaders(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        var h = http.Response.Headers;
        h.XContentTypeOptions = "nosniff";
        h.XFrameOptions = "DENY";
        h["Referrer-Policy"] = "no-referrer";
        h.ContentSecurityPolicy = http.Request.Path.StartsWithSegments("/docs") ? DocsCsp : ApiCsp;
        // API.md: bodies over 1 MiB are refused with 413. Kestrel enforces it for streamed bodies; a declared length is refused here at once.
        if (http.Request.ContentLength > MaxBodyBytes)
        {
            http.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            return http.Response.WriteAsJsonAsync(new { detail = "Request body is larger than 1 MiB" });
        }
        if (http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = MaxBodyBytes;
        return next(http);
    });

    /// <summary>
    /// CSP form-action also governs the redirects that follow a form submission (Chromium enforces
    /// it), so a page whose form ends in a redirect to a validated client URI (sign-in, consent,
    /// logout confirmation) must name that origin too, or the browser stops the flow on our page.
    /// </summary>
    public static void AllowFormRedirectTo(HttpResponse response, string validatedUri)
    {
        if (!Uri.TryCreate(validatedUri, UriKind.Absolute, out var target)) return;
        var source = target.Scheme is "http" or "https" ? target.GetLeftPart(UriPartial.Authority) : target.Scheme + ":";
        var csp = response.Headers.ContentSecurityPolicy.ToString();
        if (csp.Contains("form-action 'self';", StringComparison.Ordinal))
            response.Headers.ContentSecurityPolicy = csp.Replace("form-action 'self';", $"form-action 'self' {source};", StringComparison.Ordinal);
    }
}
