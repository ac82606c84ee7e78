using Authly.OAuth;

namespace Authly.Clients;

/// <summary>A clients row plus its active scope names.</summary>
public sealed record Client
{
    public Guid Id { get; init; }
    public string ClientId { get; init; } = "";
    public string ClientName { get; init; } = "";
    public string ClientType { get; init; } = ClientTypes.Confidential;
    public byte[]? ClientSecretHash { get; init; }
    public string[] RedirectUris { get; init; } = [];
    public string[] GrantTypes { get; init; } = [];
    public string[] ResponseTypes { get; init; } = [];
    public string TokenEndpointAuthMethod { get; init; } = TokenAuthMethods.ClientSecretBasic;
    public bool RequirePkce { get; init; } = true;
    public string? ClientUri { get; init; }
    public string? LogoUri { get; init; }
    public string? TosUri { get; init; }
    public string? PolicyUri { get; init; }
    public string[] Contacts { get; init; } = [];
    public string ApplicationType { get; init; } = "web";
    public string[] PostLogoutRedirectUris { get; init; } = [];
    public bool IsActive { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public string[] Scopes { get; init; } = [];
    // Issue 17, RFC 9449 §5.2: the client always uses DPoP; a token request without a proof is refused.
    public bool DpopBoundAccessTokens { get; init; }

    // ---- OIDC Back-Channel Logout 1.0 §2.2 (issue 18) ----
    public string? BackchannelLogoutUri { get; init; }
    public bool BackchannelLogoutSessionRequired { get; init; }
    // Issue 17 part 1 (PAR, private_key_jwt, FAPI 2.0): the client's public keys, its PAR rule and its profile.
    /// <summary>A JWK Set (JSON) of the client's public keys, for private_key_jwt (RFC 7523 §2.2); or null.</summary>
    public string? Jwks { get; init; }
    /// <summary>Where the client publishes its JWK Set (fetched and cached by <see cref="ClientKeys"/>); or null.</summary>
    public string? JwksUri { get; init; }
    /// <summary>RFC 9126 §6: this client's authorization requests must be pushed.</summary>
    public bool RequirePushedAuthorizationRequests { get; init; }
    /// <summary>The client's security profile: null, or <see cref="Fapi2Profile.Name"/>.</summary>
    public string? Profile { get; init; }

    // ---- Issue 17, RFC 8707 resource indicators ----
    /// <summary>The resources (absolute URIs) this client may ask for; its tokens' aud is one of them when asked.</summary>
    public string[] Resources { get; init; } = [];

    public bool IsPublic => ClientType == ClientTypes.Public;
    public bool AllowsGrant(string grantType) => GrantTypes.Contains(grantType, StringComparer.Ordinal);
    public bool AllowsScopes(IEnumerable<string> scopes) => scopes.All(s => Scopes.Contains(s, StringComparer.Ordinal));
}

public static class ClientTypes
{
    public const string Public = "public";
    public const string Confidential = "confidential";
}
