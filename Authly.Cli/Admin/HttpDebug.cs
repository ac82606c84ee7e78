using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Authly.Cli.Admin;

/// <summary>
/// AUTHLY_DEBUG_HTTP=true (or AUTHLY_LOG_LEVEL=DEBUG, the original CLI guide's switches): one stderr line per
/// HTTP call of the CLI before it is sent (method, URL, body) and one after (status, duration, body). Secrets
/// never appear: the Authorization header is not printed, and in form and JSON bodies every value under a key
/// that names a secret (passwords, client secrets, tokens, codes) is replaced by "[masked]". Other bodies are
/// shown by length only.
/// </summary>
public static class HttpDebug
{
    public const string Masked = "[masked]";

    public static bool Enabled { get; } =
        Environment.GetEnvironmentVariable("AUTHLY_DEBUG_HTTP")?.Trim().ToLowerInvariant() is "true" or "1" or "yes" or "on"
        || string.Equals(Environment.GetEnvironmentVariable("AUTHLY_LOG_LEVEL")?.Trim(), "debug", StringComparison.OrdinalIgnoreCase);

    /// <summary>Keys whose values are secrets: anything with "secret" or "password" in its name, any "*_token" or "token", and codes.</summary>
    public static bool IsSecretKey(string key)
    {
        var k = key.ToLowerInvariant();
        return k.Contains("secret") || k.Contains("password") || k == "token" || k.EndsWith("_token", StringComparison.Ordinal)
               || k is "code" or "device_code" or "user_code" or "code_verifier" or "assertion" or "authorization";
    }

    public static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpRequestMessage request, CancellationToken ct)
    {
        if (!Enabled) return await http.SendAsync(request, ct);
        Console.Error.WriteLine($"debug: --> {request.Method} {request.RequestUri}{(request.Headers.Authorization is not null ? " (Authorization: " + Masked + ")" : "")}{await BodyAsync(request.Content, ct)}");
        var clock = Stopwatch.StartNew();
        try
        {
            var response = await http.SendAsync(request, ct);
            // Buffered so the caller can still read it.
            await response.Content.LoadIntoBufferAsync(ct);
            Console.Error.WriteLine($"debug: <-- {(int)response.StatusCode} {response.ReasonPhrase} {request.Method} {request.RequestUri} ({clock.ElapsedMilliseconds} ms){await BodyAsync(response.Content, ct)}");
            return response;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"debug: <-- failed {request.Method} {request.RequestUri} ({clock.ElapsedMilliseconds} ms): {e.Message}");
            throw;
        }
    }

    private static async Task<string> BodyAsync(HttpContent? content, CancellationToken ct)
    {
        if (content is null) return "";
        var text = await content.ReadAsStringAsync(ct);
        if (text.Length == 0) return "";
        var type = content.Headers.ContentType?.MediaType ?? "";
        if (type == "application/x-www-form-urlencoded") return " form: " + MaskForm(text);
        if (type.Contains("json", StringComparison.Ordinal))
        {
            try { return " json: " + Mask(JsonNode.Parse(text))?.ToJsonString(); }
            catch (System.Text.Json.JsonException) { }
        }
        return $" ({text.Length} characters of {(type.Length == 0 ? "unknown type" : type)})";
    }

    private static string MaskForm(string form) => string.Join('&', form.Split('&').Select(pair =>
    {
        var eq = pair.IndexOf('=');
        var key = Uri.UnescapeDataString((eq < 0 ? pair : pair[..eq]).Replace('+', ' '));
        return IsSecretKey(key) ? $"{pair[..Math.Max(eq, 0)]}={Masked}" : pair;
    }));

    public static JsonNode? Mask(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(p => p.Key).ToList())
                    if (IsSecretKey(key) && o[key] is not null) o[key] = Masked;
                    else Mask(o[key]);
                break;
            case JsonArray a:
                foreach (var item in a) Mask(item);
                break;
        }
        return node;
    }
}
