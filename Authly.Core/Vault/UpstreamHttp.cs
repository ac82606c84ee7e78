using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Authly.Vault;

/// <summary>
/// The vault's outbound HTTP: one pooled client, short timeouts, no redirects (a provider's
/// endpoints answer directly), bodies capped at 1 MiB, JSON only. Network failures become
/// UPSTREAM_UNAVAILABLE; bodies are never logged, since they carry tokens.
/// </summary>
public sealed class UpstreamHttp : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectTimeout = TimeSpan.FromSeconds(5),
        UseCookies = false,
    })
    {
        Timeout = Timeout,
        MaxResponseContentBufferSize = 1024 * 1024,
    };

    public UpstreamHttp() => _http.DefaultRequestHeaders.UserAgent.ParseAdd("Authly-Vault/1.0");

    public sealed record Response(int Status, JsonObject? Body);

    public Task<Response> GetJsonAsync(string url, string provider, CancellationToken ct) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Get, url), provider, ct);

    public Task<Response> PostFormAsync(string url, IEnumerable<KeyValuePair<string, string>> form, AuthenticationHeaderValue? authorization,
        string provider, CancellationToken ct)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = authorization;
        return SendAsync(request, provider, ct);
    }

    private async Task<Response> SendAsync(HttpRequestMessage request, string provider, CancellationToken ct)
    {
        using (request)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            try
            {
                using var response = await _http.SendAsync(request, ct);
                var text = await response.Content.ReadAsStringAsync(ct);
                JsonObject? body = null;
                try { body = JsonNode.Parse(text) as JsonObject; }
                catch (JsonException) { }
                return new Response((int)response.StatusCode, body);
            }
            catch (HttpRequestException e)
            {
                throw VaultErrors.UpstreamUnavailable(provider, $"{request.Method} {request.RequestUri?.GetLeftPart(UriPartial.Path)}: {e.Message}");
            }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                throw VaultErrors.UpstreamUnavailable(provider, $"{request.Method} {request.RequestUri?.GetLeftPart(UriPartial.Path)}: timed out after {Timeout.TotalSeconds:0} s");
            }
        }
    }

    public void Dispose() => _http.Dispose();
}
