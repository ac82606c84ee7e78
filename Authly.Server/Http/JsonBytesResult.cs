namespace Authly.Server.Http;

/// <summary>
/// Pre-serialized JSON written straight to the response: Content-Type, Content-Length and the bytes.
/// Not Results.Bytes: that is a file result, which evaluates the request's preconditions
/// (If-Match, If-Modified-Since … against a clock read) and logs for every answer: 17% of a
/// /health/live answer in issue 14's profile, for documents that have no validators of their own
/// (PublishedDocumentResult answers If-None-Match itself).
/// </summary>
public sealed class JsonBytesResult(ReadOnlyMemory<byte> body) : IResult
{
    public const string ContentType = "application/json; charset=utf-8";

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.ContentType = ContentType;
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, httpContext.RequestAborted).AsTask(); // completes synchronously: no Task allocated
    }
}
