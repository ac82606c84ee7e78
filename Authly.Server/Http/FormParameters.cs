using Authly.OAuth;

namespace Authly.Server.Http;

/// <summary>Reads an application/x-www-form-urlencoded body, refusing repeated parameters (RFC 6749 §3.1, §3.2).</summary>
public static class FormParameters
{
    public static bool IsForm(HttpRequest request) =>
        request.ContentType is { } ct && ct.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);

    public static async Task<Dictionary<string, string>> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        if (!IsForm(request))
            throw OAuthException.InvalidRequest("The request must be application/x-www-form-urlencoded");
        IFormCollection form;
        try { form = await request.ReadFormAsync(ct); }
        catch (InvalidDataException) { throw OAuthException.InvalidRequest("The form body is malformed"); }
        catch (IOException e) when (e is not EndOfStreamException) { throw OAuthException.InvalidRequest("The form body could not be read"); }
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, values) in form)
        {
            if (values.Count > 1) throw OAuthException.InvalidRequest($"The {key} parameter is repeated");
            result[key] = values.ToString();
        }
        return result;
    }
}
