using System.Text.Json.Serialization;

namespace Authly.Clients;

/// <summary>
/// RFC 7591 §2 client metadata as a registering client sends it (and RFC 7592 §2.2 on update). Fields Authly does
/// not support (jwks, jwks_uri, software_id, …) are ignored, as §2 allows, and do not appear in the answer.
/// </summary>
public sealed record ClientMetadata
{
    [JsonPropertyName("client_id")] public string? ClientId { get; init; }
    [JsonPropertyName("client_secret")] public string? ClientSecret { get; init; }
    [JsonPropertyName("redirect_uris")] public string[]? RedirectUris { get; init; }
    [JsonPropertyName("token_endpoint_auth_method")] public string? TokenEndpointAuthMethod { get; init; }
    [JsonPropertyName("grant_types")] public string[]? GrantTypes { get; init; }
    [JsonPropertyName("response_types")] public string[]? ResponseTypes { get; init; }
    [JsonPropertyName("client_name")] public string? ClientName { get; init; }
    [JsonPropertyName("client_uri")] public string? ClientUri { get; init; }
    [JsonPropertyName("logo_uri")] public string? LogoUri { get; init; }
    [JsonPropertyName("scope")] public string? Scope { get; init; }
    [JsonPropertyName("contacts")] public string[]? Contacts { get; init; }
    [JsonPropertyName("tos_uri")] public string? TosUri { get; init; }
    [JsonPropertyName("policy_uri")] public string? PolicyUri { get; init; }
    [JsonPropertyName("application_type")] public string? ApplicationType { get; init; }
    [JsonPropertyName("post_logout_redirect_uris")] public string[]? PostLogoutRedirectUris { get; init; }
    /// <summary>RFC 7591 §2.3: refused (invalid_software_statement); Authly trusts no statement issuer.</summary>
    [JsonPropertyName("software_statement")] public string? SoftwareStatement { get; init; }
}

/// <summary>RFC 7591 §3.2.1 / RFC 7592 §3: a registered client's information as its owner sees it.</summary>
public sealed record ClientInformation
{
    [JsonPropertyName("client_id")] public required string ClientId { get; init; }
    /// <summary>Only in the answer that created it: Authly keeps only its hash.</summary>
    [JsonPropertyName("client_secret"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? ClientSecret { get; init; }
    [JsonPropertyName("client_id_issued_at")] public long ClientIdIssuedAt { get; init; }
    /// <summary>0: the secret does not expire (present for confidential clients, §3.2.1).</summary>
    [JsonPropertyName("client_secret_expires_at"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? ClientSecretExpiresAt { get; init; }
    /// <summary>Only in the answers that create or rotate it (registration and update): Authly keeps only its hash.</summary>
    [JsonPropertyName("registration_access_token"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? RegistrationAccessToken { get; init; }
    [JsonPropertyName("registration_client_uri")] public required string RegistrationClientUri { get; init; }
    [JsonPropertyName("client_name")] public string ClientName { get; init; } = "";
    [JsonPropertyName("redirect_uris")] public string[] RedirectUris { get; init; } = [];
    [JsonPropertyName("grant_types")] public string[] GrantTypes { get; init; } = [];
    [JsonPropertyName("response_types")] public string[] ResponseTypes { get; init; } = [];
    [JsonPropertyName("token_endpoint_auth_method")] public string TokenEndpointAuthMethod { get; init; } = "";
    [JsonPropertyName("scope")] public string Scope { get; init; } = "";
    [JsonPropertyName("application_type")] public string ApplicationType { get; init; } = "web";
    [JsonPropertyName("contacts")] public string[] Contacts { get; init; } = [];
    [JsonPropertyName("post_logout_redirect_uris")] public string[] PostLogoutRedirectUris { get; init; } = [];
    [JsonPropertyName("client_uri"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? ClientUri { get; init; }
    [JsonPropertyName("logo_uri"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? LogoUri { get; init; }
    [JsonPropertyName("tos_uri"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? TosUri { get; init; }
    [JsonPropertyName("policy_uri"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? PolicyUri { get; init; }
}
