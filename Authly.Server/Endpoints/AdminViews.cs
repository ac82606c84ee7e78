using System.Text.Json.Serialization;
using Authly.Clients;

namespace Authly.Server.Endpoints;

/// <summary>A client as the admin API shows it: never the secret or its hash.</summary>
public sealed record ClientView(
    [property: JsonPropertyName("id")] Guid Id,
    [property: JsonPropertyName("client_id")] string ClientId,
    [property: JsonPropertyName("client_name")] string ClientName,
    [property: JsonPropertyName("client_type")] string ClientType,
    [property: JsonPropertyName("redirect_uris")] string[] RedirectUris,
    [property: JsonPropertyName("grant_types")] string[] GrantTypes,
    [property: JsonPropertyName("response_types")] string[] ResponseTypes,
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("require_pkce")] bool RequirePkce,
    [property: JsonPropertyName("token_endpoint_auth_method")] string TokenEndpointAuthMethod,
    [property: JsonPropertyName("client_uri")] string? ClientUri,
    [property: JsonPropertyName("logo_uri")] string? LogoUri,
    [property: JsonPropertyName("tos_uri")] string? TosUri,
    [property: JsonPropertyName("policy_uri")] string? PolicyUri,
    [property: JsonPropertyName("contacts")] string[] Contacts,
    [property: JsonPropertyName("application_type")] string ApplicationType,
    [property: JsonPropertyName("post_logout_redirect_uris")] string[] PostLogoutRedirectUris,
    [property: JsonPropertyName("is_active")] bool IsActive,
    [property: JsonPropertyName("created_at")] DateTime CreatedAt,
    [property: JsonPropertyName("updated_at")] DateTime UpdatedAt,
    // ---- OIDC Back-Channel Logout 1.0 §2.2 (issue 18) ----
    [property: JsonPropertyName("backchannel_logout_uri")] string? BackchannelLogoutUri,
    [property: JsonPropertyName("backchannel_logout_session_required")] bool BackchannelLogoutSessionRequired,
    // Issue 17 part 1: the client's public keys or where they are, its PAR rule and its profile.
    [property: JsonPropertyName("jwks")] System.Text.Json.Nodes.JsonNode? Jwks,
    [property: JsonPropertyName("jwks_uri")] string? JwksUri,
    [property: JsonPropertyName("require_pushed_authorization_requests")] bool RequirePushedAuthorizationRequests,
    [property: JsonPropertyName("profile")] string? Profile)
{
    public static ClientView Of(Client c) => new(c.Id, c.ClientId, c.ClientName, c.ClientType, c.RedirectUris, c.GrantTypes,
        c.ResponseTypes, string.Join(' ', c.Scopes), c.RequirePkce, c.TokenEndpointAuthMethod, c.ClientUri, c.LogoUri, c.TosUri,
        c.PolicyUri, c.Contacts, c.ApplicationType, c.PostLogoutRedirectUris, c.IsActive,
        c.CreatedAt, c.UpdatedAt,
        c.BackchannelLogoutUri, c.BackchannelLogoutSessionRequired,
        c.Jwks is null ? null : System.Text.Json.Nodes.JsonNode.Parse(c.Jwks), c.JwksUri, c.RequirePushedAuthorizationRequests, c.Profile)
    {
        DpopBoundAccessTokens = c.DpopBoundAccessTokens,
        Resources = c.Resources,
    };

    // Issue 17, RFC 9449 §5.2.
    [JsonPropertyName("dpop_bound_access_tokens")] public bool DpopBoundAccessTokens { get; init; }

    // Issue 17, RFC 8707.
    [JsonPropertyName("resources")] public string[] Resources { get; init; } = [];
}

public sealed record ScopeInput
{
    [JsonPropertyName("scope_name")] public string? ScopeName { get; init; }
    [JsonPropertyName("description")] public string? Description { get; init; }
    [JsonPropertyName("is_default")] public bool? IsDefault { get; init; }
    [JsonPropertyName("is_active")] public bool? IsActive { get; init; }
}

/// <summary>A signing key as the admin API shows it: identity and lifecycle (pending, active, retiring), never key material.</summary>
public sealed record KeyView(
    [property: JsonPropertyName("kid")] string Kid,
    [property: JsonPropertyName("alg")] string Algorithm,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("created_at")] DateTime CreatedAt,
    [property: JsonPropertyName("activates_at")] DateTime ActivatesAt,
    [property: JsonPropertyName("retired_at")] DateTime? RetiredAt,
    [property: JsonPropertyName("verify_until")] DateTime? VerifyUntil)
{
    public static KeyView Of(Tokens.SigningKey k, DateTimeOffset now) => new(k.Kid, k.Algorithm, k.StateAt(now),
        k.CreatedAt,
        k.ActivatesAt,
        k.RetiredAt,
        k.VerifyUntil);
}

/// <summary>GET /admin/keys/schedule: automatic rotation and the keys' lifecycle.</summary>
public sealed record KeyScheduleView(
    [property: JsonPropertyName("automatic")] bool Automatic,
    [property: JsonPropertyName("rotation_days")] int RotationDays,
    [property: JsonPropertyName("announce_period_seconds")] long AnnouncePeriodSeconds,
    [property: JsonPropertyName("jwks_max_age_seconds")] long JwksMaxAgeSeconds,
    [property: JsonPropertyName("next_rotation_at")] DateTime? NextRotationAt,
    [property: JsonPropertyName("keys")] IReadOnlyList<KeyView> Keys)
{
    public static KeyScheduleView Of(Tokens.SigningKeyStore.Schedule s) => new(s.Automatic, s.RotationDays, (long)s.AnnouncePeriod.TotalSeconds,
        (long)Tokens.SigningKeyStore.JwksMaxAge.TotalSeconds, s.NextRotationAt, s.Keys.Select(k => KeyView.Of(k, s.Now)).ToList());
}
