using System.Text.Json.Serialization;

namespace Authly.Clients;

/// <summary>What an admin sends to create or update a client (API.md field names). Nulls mean "not given".</summary>
public sealed record ClientRegistration
{
    [JsonPropertyName("client_name")] public string? ClientName { get; init; }
    [JsonPropertyName("client_type")] public string? ClientType { get; init; }
    [JsonPropertyName("redirect_uris")] public string[]? RedirectUris { get; init; }
    [JsonPropertyName("scope")] public string? Scope { get; init; }
    [JsonPropertyName("grant_types")] public string[]? GrantTypes { get; init; }
    [JsonPropertyName("response_types")] public string[]? ResponseTypes { get; init; }
    [JsonPropertyName("require_pkce")] public bool? RequirePkce { get; init; }
    [JsonPropertyName("token_endpoint_auth_method")] public string? TokenEndpointAuthMethod { get; init; }
    [JsonPropertyName("client_uri")] public string? ClientUri { get; init; }
    [JsonPropertyName("logo_uri")] public string? LogoUri { get; init; }
    [JsonPropertyName("tos_uri")] public string? TosUri { get; init; }
    [JsonPropertyName("policy_uri")] public string? PolicyUri { get; init; }
    [JsonPropertyName("contacts")] public string[]? Contacts { get; init; }
    [JsonPropertyName("application_type")] public string? ApplicationType { get; init; }
    [JsonPropertyName("post_logout_redirect_uris")] public string[]? PostLogoutRedirectUris { get; init; }
    [JsonPropertyName("is_active")] public bool? IsActive { get; init; }

    // ---- OIDC Back-Channel Logout 1.0 §2.2 (issue 18); "" removes the URI on update ----
    [JsonPropertyName("backchannel_logout_uri")] public string? BackchannelLogoutUri { get; init; }
    [JsonPropertyName("backchannel_logout_session_required")] public bool? BackchannelLogoutSessionRequired { get; init; }
    // Issue 17 part 1 (PAR, private_key_jwt, FAPI 2.0). An empty string clears jwks, jwks_uri or profile.
    [JsonPropertyName("jwks")] public System.Text.Json.Nodes.JsonObject? Jwks { get; init; }
    [JsonPropertyName("jwks_uri")] public string? JwksUri { get; init; }
    [JsonPropertyName("require_pushed_authorization_requests")] public bool? RequirePushedAuthorizationRequests { get; init; }
    [JsonPropertyName("profile")] public string? Profile { get; init; }
    // Issue 17, RFC 9449 §5.2.
    [JsonPropertyName("dpop_bound_access_tokens")] public bool? DpopBoundAccessTokens { get; init; }

    // ---- Issue 17, RFC 8707: the resources the client may ask for ([] clears them) ----
    [JsonPropertyName("resources")] public string[]? Resources { get; init; }
}
