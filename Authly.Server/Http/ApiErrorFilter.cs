using Authly.Security;
using System.Text.Json;

namespace Authly.Server.Http;

/// <summary>
/// The one mapper of the JSON APIs (account, admin, vault): an <see cref="AuthlyException"/> becomes
/// {"detail", "error_code"?, "field"?} with its status (and Retry-After when it has one); throttling is 429
/// with Retry-After and the throttle's API code; an outage is 503 DATABASE_UNAVAILABLE; anything else a bare 500.
/// </summary>
public sealed class ApiErrorFilter(ILogger<ApiErrorFilter> log) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        try { return await next(context); }
        catch (AuthlyException e)
        {
            // The private detail (an upstream's status and error code, a key id) helps the operator; it never holds a token.
            if (e.Private is not null || e.Status >= 500) log.LogWarning("API error {Status} {Code} on {Path}: {Detail}", e.Status, e.Code, LogText.Safe(http.Request.Path), LogText.Safe(e.Private ?? e.Detail));
            if (e.RetryAfterSeconds is { } after) http.Response.Headers.RetryAfter = after.ToString();
            return Write(e);
        }
        catch (ThrottledException e)
        {
            http.Response.Headers.RetryAfter = e.RetryAfterSeconds.ToString();
            return Write(new AuthlyException(StatusCodes.Status429TooManyRequests, e.Description, e.ApiCode));
        }
        catch (BadHttpRequestException e) { return Write(new AuthlyException(e.StatusCode, e.StatusCode == 413 ? "Request body is larger than 1 MiB" : "Malformed request")); }
        catch (Exception e) when (Storage.DependencyOutage.Is(e) && !http.RequestAborted.IsCancellationRequested)
        {
            // The caller did nothing wrong and a retry may work: 503, not a 500 that reads like a bug.
            log.LogWarning("Database unavailable on {Path}: {Error}", LogText.Safe(http.Request.Path), LogText.Safe(e.Message));
            http.Response.Headers.RetryAfter = Storage.DependencyOutage.RetryAfterSeconds.ToString();
            return Write(Unavailable);
        }
        catch (Exception e) when (!http.RequestAborted.IsCancellationRequested)
        {
            log.LogError(e, "Unhandled error on {Path}", LogText.Safe(http.Request.Path));
            return Write(new AuthlyException(StatusCodes.Status500InternalServerError, "Internal server error"));
        }
    }

    /// <summary>The JSON APIs' outage answer; the caller adds Retry-After.</summary>
    public static AuthlyException Unavailable => new(StatusCodes.Status503ServiceUnavailable, "Database unavailable", "DATABASE_UNAVAILABLE");

    /// <summary>The API error body: {"detail", "error_code"?, "field"?} with the error's status.</summary>
    public static IResult Write(AuthlyException e)
    {
        var body = new Dictionary<string, string> { ["detail"] = e.Detail };
        if (e.Code is not null) body["error_code"] = e.Code;
        if (e.Field is not null) body["field"] = e.Field;
        return Results.Json(body, statusCode: e.Status);
    }
}

/// <summary>Strict JSON request bodies for the admin API: an object of the expected shape, or a 400 naming the problem.</summary>
public static class JsonBody
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { AllowTrailingCommas = false };
    private static readonly JsonDocumentOptions DocumentOptions = new() { AllowTrailingCommas = false, MaxDepth = 64 };

    public static async Task<T> ReadAsync<T>(HttpRequest request, CancellationToken ct) where T : class
    {
        // RFC 9110 §8.3.1: the media type, parsed, is application/json (any case, any parameters such as
        // charset). A prefix test let application/jsonp, application/json-seq or application/jsonx through.
        if (!FormParameters.HasMediaType(request, "application/json"))
            throw AuthlyException.UnsupportedMediaType("The request body must be application/json");
        // Syntax first, then shape, then field types: each failure gets its own message, and a type
        // error names the field it is in. Bodies are capped at 1 MiB, so reading twice is cheap.
        JsonDocument document;
        try { document = await JsonDocument.ParseAsync(request.Body, DocumentOptions, ct); }
        catch (JsonException) { throw AuthlyException.BadRequest("The request body is not valid JSON"); }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw AuthlyException.BadRequest("The request body must be a JSON object");
            try { return document.RootElement.Deserialize<T>(Options)!; }
            catch (JsonException e)
            {
                var field = e.Path is { Length: > 2 } p ? p.TrimStart('$', '.') : null;
                throw AuthlyException.BadRequest(field is null ? "The request body does not have the expected shape" : $"Field '{field}' has the wrong type", field);
            }
        }
    }
}
