using System.Text.Json.Serialization;

namespace Authly.Vault;

/// <summary>What an admin sends to add or change an upstream provider. Nulls mean "not given".</summary>
public sealed record VaultProviderRegistration
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("display_name")] public string? DisplayName { get; init; }
    [JsonPropertyName("issuer")] public string? Issuer { get; init; }
    [JsonPropertyName("client_id")] public string? ClientId { get; init; }
    [JsonPropertyName("client_secret")] public string? ClientSecret { get; init; }
    [JsonPropertyName("token_endpoint_auth_method")] public string? TokenEndpointAuthMethod { get; init; }
    /// <summary>Scopes requested by the connect flow; offline_access asks for an offline token.</summary>
    [JsonPropertyName("scopes")] public string? Scopes { get; init; }
    [JsonPropertyName("is_active")] public bool? IsActive { get; init; }
    /// <summary>Fetch the issuer's discovery document before saving (default true).</summary>
    [JsonPropertyName("check_discovery")] public bool? CheckDiscovery { get; init; }
}
