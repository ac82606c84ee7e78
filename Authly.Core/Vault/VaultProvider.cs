namespace Authly.Vault;

/// <summary>A vault_providers row: an upstream OpenID provider (or this Authly) the vault keeps tokens for.</summary>
public sealed record VaultProvider
{
    public const string Oidc = "oidc";
    public const string Local = "local";
    public const string LocalName = "authly";

    public Guid Id { get; init; }
    public string Name { get; init; } = "";
    public string DisplayName { get; init; } = "";
    public string Kind { get; init; } = Oidc;
    public string? Issuer { get; init; }
    public string? ClientId { get; init; }
    public string TokenEndpointAuthMethod { get; init; } = "client_secret_basic";
    public string Scopes { get; init; } = "openid offline_access";
    public string? KeyId { get; init; }
    public byte[]? WrappedKey { get; init; }
    public byte[]? ClientSecretEncrypted { get; init; }
    public bool IsActive { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }

    public bool IsLocal => Kind == Local;

    /// <summary>Associated data for this row's secrets: a sealed client secret opens only in this row.</summary>
    public string RowContext => $"vault_providers/{Id}";
}
