namespace Authly.Vault;

/// <summary>A vault_entries row with its provider's name and the clients it is granted to.</summary>
public sealed record VaultEntry
{
    public const string Active = "active";
    public const string InvalidGrant = "invalid_grant";
    public const string Revoked = "revoked";
    public const string Refresh = "refresh";
    public const string Offline = "offline";

    public Guid Id { get; init; }
    public Guid UserId { get; init; }
    public Guid ProviderId { get; init; }
    public string ProviderName { get; init; } = "";
    public string Purpose { get; init; } = "";
    public string TokenType { get; init; } = Refresh;
    public string? Subject { get; init; }
    public string Scope { get; init; } = "";
    public string Status { get; init; } = Active;
    public string? KeyId { get; init; }
    public byte[]? WrappedKey { get; init; }
    public byte[]? RefreshTokenEncrypted { get; init; }
    public byte[]? AccessTokenEncrypted { get; init; }
    public DateTime? AccessTokenExpiresAt { get; init; }
    public string? AccessTokenRequest { get; init; }
    public string CreatedBy { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public DateTime? LastRefreshedAt { get; init; }
    public DateTime? LastUsedAt { get; init; }
    public DateTime? RevokedAt { get; init; }
    public string[] Grants { get; init; } = [];

    /// <summary>
    /// Associated data for this row: its id, owner and provider. A data key or ciphertext copied
    /// from another entry (even another entry of the same user) does not open here.
    /// </summary>
    public string RowContext => RowContextOf(Id, UserId, ProviderId);

    public static string RowContextOf(Guid id, Guid userId, Guid providerId) => $"vault_entries/{id}/{userId}/{providerId}";
}
