using Authly.Caching;
using Microsoft.Net.Http.Headers;

namespace Authly.Server.Http;

/// <summary>
/// Answers a GET for a <see cref="PublishedDocument"/>: its pre-serialized bytes with
/// <c>Cache-Control: public, max-age</c> and its strong <c>ETag</c>, or <c>304 Not Modified</c> with no
/// body when the request's <c>If-None-Match</c> names the current tag (RFC 9110 §13.1.2: weak
/// comparison, a list of tags, or <c>*</c>, which any current representation matches). A field
/// that does not parse as an entity-tag list is ignored, so the answer is the full 200.
/// </summary>
public static class PublishedDocumentResult
{
    public static IResult For(HttpContext context, PublishedDocument document)
    {
        var response = context.Response;
        // RFC 9110 §15.4.5: a 304 carries the Cache-Control and ETag a 200 would have carried.
        response.Headers.CacheControl = $"public, max-age={(long)document.MaxAge.TotalSeconds}";
        response.Headers.ETag = document.ETag;
        return Matches(context.Request.Headers.IfNoneMatch, document.ETag)
            ? Results.StatusCode(StatusCodes.Status304NotModified)
            : new JsonBytesResult(document.Body);
    }

    private static bool Matches(Microsoft.Extensions.Primitives.StringValues ifNoneMatch, string etag)
    {
        if (ifNoneMatch.Count == 0) return false;
        if (!EntityTagHeaderValue.TryParseStrictList(ifNoneMatch, out var tags)) return false;
        var current = new EntityTagHeaderValue(etag);
        foreach (var tag in tags)
            if (tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(current, useStrongComparison: false)) return true;
        return false;
    }
}
