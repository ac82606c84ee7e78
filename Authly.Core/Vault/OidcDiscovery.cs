using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace Authly.Vault;

/// <summary>
/// Provider metadata from {issuer}/.well-known/openid-configuration, checked (OpenID Connect
/// Discovery 1.0 §4.3: the issuer must be exactly the one asked for) and cached per node for five
/// minutes. When a refresh fails, the last good copy serves for up to an hour.
/// </summary>
public sealed class OidcDiscovery(UpstreamHttp http, TimeProvider clock)
{
    private static readonly TimeSpan Fresh = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Stale = TimeSpan.FromHours(1);
    private readonly ConcurrentDictionary<string, (ProviderMetadata Metadata, DateTimeOffset FetchedAt)> _cache = new(StringComparer.Ordinal);

    public async Task<ProviderMetadata> GetAsync(string issuer, string provider, CancellationToken ct, bool refresh = false)
    {
        var now = clock.GetUtcNow();
        _cache.TryGetValue(issuer, out var hit);
        if (!refresh && hit.Metadata is not null && now - hit.FetchedAt < Fresh) return hit.Metadata;
        try
        {
            var metadata = await FetchAsync(issuer, provider, ct);
            _cache[issuer] = (metadata, now);
            return metadata;
        }
        catch (AuthlyException) when (!refresh && hit.Metadata is not null && now - hit.FetchedAt < Stale)
        {
            return hit.Metadata;
        }
    }

    private async Task<ProviderMetadata> FetchAsync(string issuer, string provider, CancellationToken ct)
    {
        var url = issuer.TrimEnd('/') + "/.well-known/openid-configuration";
        var response = await http.GetJsonAsync(url, provider, ct);
        if (response.Status != 200 || response.Body is not { } doc)
            throw VaultErrors.UpstreamUnavailable(provider, $"discovery at {url} answered {response.Status}{(response.Body is null ? " without JSON" : "")}");
        var found = Str(doc, "issuer");
        if (found != issuer)
            throw VaultErrors.UpstreamUnavailable(provider, $"discovery names issuer '{found}', expected '{issuer}' (OpenID Connect Discovery §4.3)");
        return new ProviderMetadata(
            issuer,
            Endpoint(doc, "authorization_endpoint", provider, required: true)!,
            Endpoint(doc, "token_endpoint", provider, required: true)!,
            Endpoint(doc, "revocation_endpoint", provider),
            Endpoint(doc, "introspection_endpoint", provider),
            Endpoint(doc, "jwks_uri", provider),
            doc["authorization_response_iss_parameter_supported"] is JsonValue v && v.TryGetValue<bool>(out var b) && b);
    }

    private static string? Str(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static string? Endpoint(JsonObject doc, string key, string provider, bool required = false)
    {
        var value = Str(doc, key);
        if (value is null)
            return required ? throw VaultErrors.UpstreamUnavailable(provider, $"discovery has no {key}") : null;
        // Tokens and client secrets go to these URLs: the same https-or-loopback rule as the issuer.
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || !VaultRules.IsAllowedEndpoint(uri))
            throw VaultErrors.UpstreamUnavailable(provider, $"discovery {key} is not an https (or loopback http) URL");
        return value;
    }
}
