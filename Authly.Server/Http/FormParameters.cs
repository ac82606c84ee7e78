using Authly.OAuth;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Authly.Server.Http;

/// <summary>
/// Reads an application/x-www-form-urlencoded body, refusing repeated parameters (RFC 6749 §3.1, §3.2) except
/// <c>resource</c>, which RFC 8707 §2 lets a client repeat (its values go on joined, <see cref="ResourceIndicators.Join"/>).
/// </summary>
public static class FormParameters
{
    public static bool IsForm(HttpRequest request) => HasMediaType(request, "application/x-www-form-urlencoded");

    /// <summary>
    /// The Content-Type's media type is exactly <paramref name="mediaType"/> (any case, any parameters). Not a prefix test:
    /// "application/x-www-form-urlencodedx" passed one, and ReadFormAsync then threw InvalidOperationException (a 500).
    /// </summary>
    public static bool HasMediaType(HttpRequest request, string mediaType) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed)
        && parsed.MediaType.Equals(mediaType, StringComparison.OrdinalIgnoreCase);

    public static async Task<Dictionary<string, string>> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        var (form, error) = await ParseAsync(request, ct);
        return form ?? throw OAuthException.InvalidRequest(error!);
    }

    /// <summary>The form, or null when <see cref="ReadAsync"/> would refuse it (for pages that answer any unreadable form alike).</summary>
    public static async Task<Dictionary<string, string>?> TryReadAsync(HttpRequest request, CancellationToken ct) => (await ParseAsync(request, ct)).Form;

    private static async Task<(Dictionary<string, string>? Form, string? Error)> ParseAsync(HttpRequest request, CancellationToken ct)
    {
        if (!IsForm(request)) return (null, "The request must be application/x-www-form-urlencoded");
        IFormCollection form;
        try { form = await request.ReadFormAsync(ct); }
        catch (InvalidDataException) { return (null, "The form body is malformed"); }
        catch (IOException e) when (e is not EndOfStreamException) { return (null, "The form body could not be read"); }
        return Flatten(form);
    }

    /// <summary>Form or query parameters as one value each: a repeated one is an error, but for <c>resource</c> (RFC 8707 §2).</summary>
    public static (Dictionary<string, string>? Parameters, string? Error) Flatten(IEnumerable<KeyValuePair<string, StringValues>> parameters)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, values) in parameters)
        {
            if (key == Parameters.Resource) result[key] = ResourceIndicators.Join(values.Select(v => v ?? ""));
            else if (values.Count > 1) return (null, $"The {key} parameter is repeated");
            else result[key] = values.ToString();
        }
        return (result, null);
    }
}
