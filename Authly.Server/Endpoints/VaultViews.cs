using Authly.Vault;

namespace Authly.Server.Endpoints;

/// <summary>What the vault API shows of entries and providers: never a token, secret, ciphertext or key.</summary>
public static class VaultViews
{
    public static Dictionary<string, object?> Entry(VaultEntry e, VaultCaller caller)
    {
        var view = new Dictionary<string, object?>
        {
            ["id"] = e.Id,
            ["user_id"] = e.UserId,
            ["provider"] = e.ProviderName,
            ["purpose"] = e.Purpose,
            ["token_type"] = e.TokenType,
            ["scope"] = e.Scope,
            ["subject"] = e.Subject,
            ["status"] = e.Status,
            ["created_by"] = e.CreatedBy,
            ["created_at"] = e.CreatedAt,
            ["updated_at"] = e.UpdatedAt,
            ["last_refreshed_at"] = e.LastRefreshedAt,
            ["last_used_at"] = e.LastUsedAt,
            ["revoked_at"] = e.RevokedAt,
            ["access_token_cached_until"] = e.AccessTokenEncrypted is null ? null : e.AccessTokenExpiresAt,
        };
        // Which other clients may use an entry is the owner's business.
        if (caller.Kind == VaultCaller.Kinds.User) view["grants"] = e.Grants;
        return view;
    }

    public static Dictionary<string, object?> Provider(VaultProvider p) => new()
    {
        ["name"] = p.Name,
        ["display_name"] = p.DisplayName,
        ["kind"] = p.Kind,
        ["issuer"] = p.Issuer,
        ["client_id"] = p.ClientId,
        ["token_endpoint_auth_method"] = p.TokenEndpointAuthMethod,
        ["has_client_secret"] = p.ClientSecretEncrypted is not null,
        ["scopes"] = p.Scopes,
        ["sessions_supported"] = p.IsLocal,
        ["is_active"] = p.IsActive,
        ["created_at"] = p.CreatedAt,
        ["updated_at"] = p.UpdatedAt,
    };

    public static Dictionary<string, object?> PublicProvider(VaultProvider p) => new()
    {
        ["name"] = p.Name,
        ["display_name"] = p.DisplayName,
        ["kind"] = p.Kind,
        ["issuer"] = p.Issuer,
        ["scopes"] = p.Scopes,
        ["connect_url"] = $"/api/v1/vault/connect/{p.Name}",
    };
}
