namespace Authly.Vault;

/// <summary>
/// Managing upstream providers (admin API and CLI): each is an issuer found by discovery, a
/// client id and secret registered there, and the scopes the connect flow asks for. The secret
/// is sealed on the way in and never shown again. This Authly ("authly", kind local) exists by
/// default; only its display name, scopes and active flag can change.
/// </summary>
public sealed class VaultProviders(VaultProviderStore store, OidcDiscovery discovery, VaultAudit audit, VaultCipher cipher)
{
    private static readonly string[] AuthMethods = ["client_secret_basic", "client_secret_post", "none"];
    public const string DefaultScopes = "openid offline_access";

    public Task<IReadOnlyList<VaultProvider>> ListAsync(bool includeInactive, CancellationToken ct) => store.ListAsync(includeInactive, ct);

    public async Task<VaultProvider> GetAsync(string name, CancellationToken ct) =>
        await store.FindAsync(VaultRules.ProviderName(name), ct) ?? throw VaultErrors.NotFound("Provider");

    public async Task<VaultProvider> CreateAsync(VaultCaller admin, VaultProviderRegistration r, CancellationToken ct)
    {
        if (!cipher.Keys.IsEnabled) throw VaultErrors.NotConfigured(cipher.Keys.DisabledReason);
        var name = VaultRules.ProviderName(r.Name);
        var issuer = VaultRules.Issuer(r.Issuer);
        var clientId = VaultRules.Text(r.ClientId, "client_id", 255);
        var method = AuthMethod(r.TokenEndpointAuthMethod) ?? "client_secret_basic";
        var secret = Secret(r.ClientSecret, method);
        var scopes = VaultRules.Scope(r.Scopes, "scopes") ?? DefaultScopes;
        var displayName = VaultRules.Text(r.DisplayName, "display_name", 200, required: false) is { Length: > 0 } d ? d : name;
        if (r.CheckDiscovery ?? true) await CheckDiscoveryAsync(issuer, name, ct);
        var created = await store.InsertAsync(name, displayName, issuer, clientId, method, scopes, secret, ct)
                      ?? throw new AuthlyException(409, $"A provider named '{name}' exists", "PROVIDER_EXISTS") { Field = "name" };
        await audit.WriteAsync(admin, "provider_create", "ok", provider: name, detail: issuer, ct: ct);
        return created;
    }

    public async Task<VaultProvider> UpdateAsync(VaultCaller admin, string name, VaultProviderRegistration r, CancellationToken ct)
    {
        var current = await GetAsync(name, ct);
        if (r.Name is not null && r.Name != current.Name) throw VaultErrors.BadRequest("name cannot be changed", "name");
        if (current.IsLocal && (r.Issuer is not null || r.ClientId is not null || r.ClientSecret is not null || r.TokenEndpointAuthMethod is not null))
            throw VaultErrors.BadRequest("This Authly's own provider has no issuer, client or secret to set", "issuer");
        var method = AuthMethod(r.TokenEndpointAuthMethod) ?? current.TokenEndpointAuthMethod;
        var merged = current with
        {
            DisplayName = r.DisplayName is null ? current.DisplayName : VaultRules.Text(r.DisplayName, "display_name", 200),
            Issuer = r.Issuer is null ? current.Issuer : VaultRules.Issuer(r.Issuer),
            ClientId = r.ClientId is null ? current.ClientId : VaultRules.Text(r.ClientId, "client_id", 255),
            TokenEndpointAuthMethod = method,
            Scopes = VaultRules.Scope(r.Scopes, "scopes") ?? current.Scopes,
            IsActive = r.IsActive ?? current.IsActive,
        };
        string? newSecret = null;
        if (r.ClientSecret is not null) newSecret = Secret(r.ClientSecret, method) ?? "";
        else if (method == "none" && current.ClientSecretEncrypted is not null) newSecret = "";
        else if (method != "none" && current.ClientSecretEncrypted is null && !current.IsLocal)
            throw VaultErrors.BadRequest($"client_secret is required for {method}", "client_secret");
        if (!merged.IsLocal && merged.Issuer != current.Issuer && (r.CheckDiscovery ?? true)) await CheckDiscoveryAsync(merged.Issuer!, name, ct);
        if (newSecret is not null && !cipher.Keys.IsEnabled) throw VaultErrors.NotConfigured(cipher.Keys.DisabledReason);
        var updated = await store.UpdateAsync(merged, newSecret, ct);
        await audit.WriteAsync(admin, "provider_update", "ok", provider: name, detail: newSecret is null ? null : "client secret replaced", ct: ct);
        return updated;
    }

    /// <summary>Deactivates a provider: its entries stay (and can be revoked) but mint nothing until it is active again.</summary>
    public async Task<VaultProvider> DeactivateAsync(VaultCaller admin, string name, CancellationToken ct)
    {
        var current = await GetAsync(name, ct);
        var updated = await store.UpdateAsync(current with { IsActive = false }, null, ct);
        await audit.WriteAsync(admin, "provider_deactivate", "ok", provider: name, ct: ct);
        return updated;
    }

    private async Task CheckDiscoveryAsync(string issuer, string name, CancellationToken ct)
    {
        try { await discovery.GetAsync(issuer, name, ct, refresh: true); }
        catch (AuthlyException e)
        {
            // Shown to the administrator who asked: the reason names URLs and status codes, never a secret.
            throw new AuthlyException(400, $"The issuer's discovery document could not be used: {e.Private ?? e.Detail}", "PROVIDER_DISCOVERY_FAILED")
                { Field = "issuer" };
        }
    }

    private static string? AuthMethod(string? method)
    {
        if (method is null) return null;
        return AuthMethods.Contains(method) ? method
            : throw VaultErrors.BadRequest("token_endpoint_auth_method must be client_secret_basic, client_secret_post or none", "token_endpoint_auth_method");
    }

    private static string? Secret(string? secret, string method)
    {
        if (method == "none")
            return string.IsNullOrEmpty(secret) ? null : throw VaultErrors.BadRequest("a client using 'none' has no client_secret", "client_secret");
        if (string.IsNullOrEmpty(secret)) throw VaultErrors.BadRequest($"client_secret is required for {method}", "client_secret");
        if (secret.Length > 1000) throw VaultErrors.BadRequest("client_secret is longer than 1000 characters", "client_secret");
        return secret;
    }
}
