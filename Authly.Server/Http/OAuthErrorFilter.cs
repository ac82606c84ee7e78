using Authly.Security;
using Authly.OAuth;
using Authly.Storage;
using Microsoft.Net.Http.Headers;

namespace Authly.Server.Http;

/// <summary>
/// The one place an <see cref="OAuthException"/> becomes HTTP: RFC 6749 §5.2 body, no-store,
/// 401 + WWW-Authenticate for invalid_client, RFC 6750 §3.1 for bearer errors. A <see cref="ThrottledException"/> is
/// 429 + Retry-After with its OAuth code; a 4xx <see cref="AuthlyException"/> (bad input outside the OAuth rules) is invalid_request.
/// A dependency outage (<see cref="DependencyOutage"/>) is 503 temporarily_unavailable + Retry-After.
/// Anything else is a generic 500 that leaks nothing.
/// </summary>
public sealed class OAuthErrorFilter(ILogger<OAuthErrorFilter> log) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        try
        {
            var result = await next(context);
            NoStore(http.Response);
            return result;
        }
        catch (OAuthException e)
        {
            if (e.Detail is not null) log.LogInformation("OAuth error {Error} on {Path}: {Detail}", e.Error, LogText.Safe(http.Request.Path), LogText.Safe(e.Detail));
            return Write(http, e);
        }
        catch (ThrottledException e)
        {
            http.Response.Headers.RetryAfter = e.RetryAfterSeconds.ToString();
            return Write(http, new OAuthException(e.OAuthError, e.Description), StatusCodes.Status429TooManyRequests);
        }
        catch (AuthlyException e) when (e.Status < StatusCodes.Status500InternalServerError)
        {
            // The caller's own mistake outside the OAuth rules (a body that is not a JSON object, a profile
            // field that is invalid): RFC 6749 §5.2 has one code for that, invalid_request, with the detail.
            return Write(http, OAuthException.InvalidRequest(e.Detail, e.Private));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Write(http, OAuthException.InvalidRequest("The request body is too large"), StatusCodes.Status413PayloadTooLarge);
        }
        catch (Exception e) when (DependencyOutage.Is(e) && !http.RequestAborted.IsCancellationRequested)
        {
            // The caller did nothing wrong and a retry may work: 503, not a 500 that reads like a bug.
            log.LogWarning("Dependency unavailable on {Path}: {Error}", LogText.Safe(http.Request.Path), LogText.Safe(e.Message));
            return Write(http, Unavailable(e));
        }
        catch (Exception e) when (!http.RequestAborted.IsCancellationRequested)
        {
            log.LogError(e, "Unhandled error on {Path}", LogText.Safe(http.Request.Path));
            return Write(http, new OAuthException(OAuthErrors.ServerError, "The server could not complete the request"), StatusCodes.Status500InternalServerError);
        }
    }

    /// <summary>RFC 6749 §5.2 shape for an outage: temporarily_unavailable with Retry-After (503 in <see cref="Write"/>).</summary>
    public static OAuthException Unavailable(Exception e) =>
        OAuthException.TemporarilyUnavailable(DependencyOutage.RetryAfterSeconds, e.GetType().Name);

    public static void NoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
    }

    public static IResult Write(HttpContext http, OAuthException e, int? status = null)
    {
        NoStore(http.Response);
        var code = status ?? StatusFor(e);
        // RFC 9449 §8/§9: the nonce the proof must carry next.
        if (e.DpopNonce is not null) http.Response.Headers[OAuth.Dpop.DpopProofValidator.NonceHeaderName] = e.DpopNonce;
        if (e.DpopChallenge || (e.Error is OAuthErrors.InvalidToken or OAuthErrors.InsufficientScope && UsedDpopScheme(http.Request)))
        {
            // RFC 9449 §7.1: a protected resource challenges with the DPoP scheme; every error there is 401 but insufficient_scope.
            code = e.Error == OAuthErrors.InsufficientScope ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized;
            http.Response.Headers.WWWAuthenticate = DpopChallenge.Header(e.Error, e.Description);
        }
        else if (e.Error == OAuthErrors.InvalidClient)
        {
            // RFC 6749 §5.2: 401 and WWW-Authenticate matching the scheme the client used.
            code = StatusCodes.Status401Unauthorized;
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"authly\"";
        }
        // RFC 6750 §3.1: a request without credentials gets a bare challenge, which the endpoint has
        // already set; only a presented token that failed gets the error code.
        else if (e.Error is OAuthErrors.InvalidToken or OAuthErrors.InsufficientScope && http.Response.Headers.WWWAuthenticate.Count == 0)
            http.Response.Headers.WWWAuthenticate = BearerChallenge.Header(e.Error, e.Description);
        if (e.RetryAfterSeconds is { } retry) http.Response.Headers.RetryAfter = retry.ToString();
        return Results.Json(new OAuthErrorBody(e.Error, e.Description), statusCode: code);
    }

    private static bool UsedDpopScheme(HttpRequest request) =>
        request.Headers.Authorization.ToString().StartsWith("DPoP ", StringComparison.OrdinalIgnoreCase);

    private static int StatusFor(OAuthException e) =>
        e.Error == OAuthErrors.TemporarilyUnavailable ? StatusCodes.Status503ServiceUnavailable
        : e.Error switch
        {
            OAuthErrors.InvalidToken => StatusCodes.Status401Unauthorized,
            OAuthErrors.InsufficientScope => StatusCodes.Status403Forbidden,
            OAuthErrors.ServerError => StatusCodes.Status500InternalServerError,
            _ => StatusCodes.Status400BadRequest,
        };
}

public sealed record OAuthErrorBody(
    [property: System.Text.Json.Serialization.JsonPropertyName("error")] string Error,
    [property: System.Text.Json.Serialization.JsonPropertyName("error_description")] string ErrorDescription);
