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

    public bool IsPublic => ClientType == ClientTypes.Public;
    public bool AllowsGrant(string grantType) => GrantTypes.Contains(grantType, StringComparer.Ordinal);
    public bool AllowsScopes(IEnumerable<string> scopes) => scopes.All(s => Scopes.Contains(s, StringComparer.Ordinal));
}

public static class ClientTypes
{
    public const string Public = "public";
    public const string Confidential = "confidential";
}
