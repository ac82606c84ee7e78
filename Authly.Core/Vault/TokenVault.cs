using System.Text.Json.Serialization;
using Authly.Clients;
using Authly.Scopes;
using Authly.Users;
using Microsoft.Extensions.Logging;

namespace Authly.Vault;

/// <summary>
/// The vault's entries: store, list, read, grant and revoke. Who may do what is decided here:
/// a user acts on their own entries; a service client only on entries granted to it; reading
/// needs vault:read and changing needs vault:write. Every call is recorded in <see cref="VaultAudit"/>,
/// including refusals. An entry a caller may not see answers 404, as if it did not exist.
/// </summary>
public sealed class TokenVault(VaultEntryStore entries, VaultProviderStore providers, Upstreams upstreams, VaultAudit audit, UserStore users,
    ClientStore clients, VaultCipher cipher, ILogger<TokenVault> log)
{
    /// <summary>POST /api/v1/vault/tokens: a token given directly.</summary>
    public sealed record StoreRequest
    {
        [JsonPropertyName("provider")] public string? Provider { get; init; }
        [JsonPropertyName("purpose")] public string? Purpose { get; init; }
        [JsonPropertyName("refresh_token")] public string? RefreshToken { get; init; }
        /// <summary>"refresh" or "offline"; by default "offline" when scope holds offline_access.</summary>
        [JsonPropertyName("token_type")] public string? TokenType { get; init; }
        [JsonPropertyName("scope")] public string? Scope { get; init; }
        /// <summary>The user's id at the provider (sub), when the caller knows it.</summary>
        [JsonPropertyName("subject")] public string? Subject { get; init; }
        /// <summary>Whose token it is: required from a service client, optional (must be the caller) from a user.</summary>
        [JsonPropertyName("user_id")] public Guid? UserId { get; init; }
        /// <summary>Service clients that may use the entry (users only).</summary>
        [JsonPropertyName("grant_to")] public string[]? GrantTo { get; init; }
    }

    public sealed record RevokeResult(VaultEntry Entry, string UpstreamRevocation);

    public async Task<VaultEntry> StoreAsync(VaultCaller caller, StoreRequest r, CancellationToken ct)
    {
        try
        {
            caller.Require(VaultCaller.WriteScope);
            if (caller.Kind == VaultCaller.Kinds.Admin) throw VaultErrors.Forbidden("Administrators manage providers, not users' tokens");
            var provider = await ActiveProviderAsync(r.Provider, ct);
            var purpose = VaultRules.Purpose(r.Purpose);
            if (string.IsNullOrEmpty(r.RefreshToken)) throw VaultErrors.BadRequest("refresh_token is required", "refresh_token");
            if (r.RefreshToken.Length > 8192 || r.RefreshToken.Any(char.IsWhiteSpace))
                throw VaultErrors.BadRequest("refresh_token must be at most 8192 characters without spaces", "refresh_token");
            var scope = VaultRules.Scope(r.Scope) ?? "";
            var tokenType = r.TokenType switch
            {
                null or "" => scope.Split(' ').Contains(OidcScopes.OfflineAccess) ? VaultEntry.Offline : VaultEntry.Refresh,
                VaultEntry.Refresh or VaultEntry.Offline => r.TokenType,
                _ => throw VaultErrors.BadRequest("token_type must be refresh or offline", "token_type"),
            };
            var subject = r.Subject is null ? null : VaultRules.Text(r.Subject, "subject", 255);

            Guid userId;
            List<string> grantTo;
            if (caller.Kind == VaultCaller.Kinds.User)
            {
                if (r.UserId is { } named && named != caller.UserId) throw VaultErrors.Forbidden("A user can store tokens only for themselves");
                userId = caller.UserId!.Value;
                if (r.GrantTo is { Length: > 0 } && !caller.IsFirstPartyUser)
                    throw VaultErrors.Forbidden("Only the user, at their browser or with the first-party CLI, can grant an entry to other clients");
                grantTo = await CheckClientsAsync(r.GrantTo, ct);
                // Stored through a third-party client: that client handed the token over, so it may use the entry (and only it).
                if (caller.ClientId is { } via && !grantTo.Contains(via, StringComparer.Ordinal)) grantTo.Add(via);
            }
            else
            {
                // A trusted service (vault:write) stores a token it obtained for a user, and can use it afterwards.
                if (r.UserId is not { } named) throw VaultErrors.BadRequest("user_id is required when a service client stores a token", "user_id");
                if (r.GrantTo is { Length: > 0 }) throw VaultErrors.BadRequest("only the user can grant an entry to other clients", "grant_to");
                if (await users.FindByIdAsync(named, ct) is not { IsActive: true }) throw VaultErrors.NotFound("User");
                userId = named;
                grantTo = [caller.ClientId!];
            }

            await CheckIssuedToVaultClientAsync(provider, r.RefreshToken, ct);
            return await SaveAsync(caller, new VaultEntryStore.NewToken(userId, provider, purpose, tokenType, r.RefreshToken, scope, subject,
                caller.Actor, grantTo), "store", ct);
        }
        catch (AuthlyException e)
        {
            await audit.WriteAsync(caller, "store", VaultErrors.Outcome(e), provider: r.Provider, ct: ct);
            throw;
        }
    }

    /// <summary>
    /// A refresh token is bound to the client it was issued to (RFC 6749 §6): the vault mints with its own client at the
    /// provider, so a token of any other client would be refused at every mint. Asked at store time through the provider's
    /// introspection (RFC 7662; in process for this Authly): a token the provider reports active for another client is
    /// refused now, naming why. A provider without introspection, or one that cannot be reached, cannot tell: the token
    /// is stored as before. The token is never logged or echoed.
    /// </summary>
    private async Task CheckIssuedToVaultClientAsync(VaultProvider provider, string refreshToken, CancellationToken ct)
    {
        TokenValidation seen;
        try { seen = await upstreams.For(provider).ValidateAsync(provider, refreshToken, "introspection", ct); }
        catch (AuthlyException e)
        {
            log.LogDebug("Provider {Provider} could not say whose a stored refresh token is: {Error} ({Detail})", provider.Name, e.Code, e.Private);
            return;
        }
        if (!seen.Active || (provider.ClientId is { } vaultClient && string.Equals(seen.ClientId, vaultClient, StringComparison.Ordinal))) return;
        throw VaultErrors.TokenOfAnotherClient(provider.Name, provider.ClientId is null);
    }

    /// <summary>The connect flow's result, stored for the signed-in user.</summary>
    internal Task<VaultEntry> StoreConnectedAsync(VaultCaller caller, VaultProvider provider, string purpose, string refreshToken, string scope,
        string? subject, CancellationToken ct)
    {
        var tokenType = scope.Split(' ').Contains(OidcScopes.OfflineAccess) ? VaultEntry.Offline : VaultEntry.Refresh;
        // Connected through a third-party client's token: granted to that client, as a token it stores would be.
        return SaveAsync(caller, new VaultEntryStore.NewToken(caller.UserId!.Value, provider, purpose, tokenType, refreshToken, scope, subject,
            caller.Actor, caller.ClientId is { } via ? [via] : []), "connect_complete", ct);
    }

    private async Task<VaultEntry> SaveAsync(VaultCaller caller, VaultEntryStore.NewToken token, string action, CancellationToken ct)
    {
        // Owners may replace their entry's token (through a third-party client, only an entry granted to it); a service client only one granted to it.
        var stored = await entries.StoreAsync(token, caller.CanSee, ct);
        await audit.WriteAsync(caller, stored.Replaced ? action + "_replace" : action, "ok", stored.Entry.Id, token.Provider.Name, ct: ct);
        if (stored.ReplacedToken is { } old && old != token.RefreshToken)
        {
            // The replaced token would otherwise stay valid at the provider with nobody holding it.
            var outcome = await RevokeUpstreamAsync(token.Provider, old, "refresh_token", ct);
            await audit.WriteAsync(caller, "revoke_replaced_upstream", outcome, stored.Entry.Id, token.Provider.Name, ct: ct);
        }
        return stored.Entry;
    }

    public async Task<IReadOnlyList<VaultEntry>> ListAsync(VaultCaller caller, string? provider, string? purpose, bool includeRevoked, int limit, int offset,
        CancellationToken ct)
    {
        try
        {
            caller.Require(VaultCaller.ReadScope);
            var list = caller.Kind switch
            {
                VaultCaller.Kinds.User => await entries.ListAsync(caller.UserId, caller.ClientId, provider, purpose, includeRevoked, limit, offset, ct),
                VaultCaller.Kinds.Client => await entries.ListAsync(null, caller.ClientId, provider, purpose, includeRevoked, limit, offset, ct),
                _ => throw VaultErrors.Forbidden("Administrators cannot list users' tokens"),
            };
            await audit.WriteAsync(caller, "list", "ok", detail: $"{list.Count} entries", ct: ct);
            return list;
        }
        catch (AuthlyException e)
        {
            await audit.WriteAsync(caller, "list", VaultErrors.Outcome(e), ct: ct);
            throw;
        }
    }

    public async Task<VaultEntry> GetAsync(VaultCaller caller, Guid id, CancellationToken ct)
    {
        var entry = await VisibleAsync(caller, id, VaultCaller.ReadScope, "read", ct);
        await audit.WriteAsync(caller, "read", "ok", id, entry.ProviderName, ct: ct);
        return entry;
    }

    /// <summary>
    /// Revokes the entry: at the provider first (RFC 7009, the refresh token and any cached access
    /// token), then here, where every secret of the row is erased. The entry is revoked here even
    /// when the provider cannot be reached; the result says what happened upstream.
    /// </summary>
    public async Task<RevokeResult> RevokeAsync(VaultCaller caller, Guid id, CancellationToken ct)
    {
        var visible = await VisibleAsync(caller, id, VaultCaller.WriteScope, "revoke", ct);
        if (visible.Status == VaultEntry.Revoked) return new RevokeResult(visible, "already_revoked");
        var provider = await providers.GetAsync(visible.ProviderId, ct) ?? throw VaultErrors.NotFound("Provider");
        var upstream = await entries.UpdateLockedAsync<string>(id, async entry =>
        {
            if (entry.Status == VaultEntry.Revoked) return (null, "already_revoked");
            string outcome;
            try
            {
                var refreshToken = entries.RefreshToken(entry);
                outcome = await RevokeUpstreamAsync(provider, refreshToken, "refresh_token", ct);
                if (entries.CachedAccessToken(entry) is { } access) await RevokeUpstreamAsync(provider, access, "access_token", ct);
            }
            catch (AuthlyException e) when (e.Code == VaultErrors.UnreadableCode)
            {
                log.LogError("Vault entry {EntryId} does not decrypt ({Reason}); revoked here only.", id, e.Private);
                outcome = "unreadable";
            }
            return (new VaultEntryStore.Change { Status = VaultEntry.Revoked }, outcome);
        }, ct);
        await audit.WriteAsync(caller, "revoke", "ok", id, provider.Name, $"upstream: {upstream}", ct);
        return new RevokeResult((await entries.GetAsync(id, ct))!, upstream);
    }

    public async Task<VaultEntry> GrantAsync(VaultCaller caller, Guid id, string? clientId, CancellationToken ct)
    {
        var entry = await OwnedAsync(caller, id, "grant", ct);
        var client = (await CheckClientsAsync([clientId ?? ""], ct))[0];
        await entries.AddGrantAsync(id, client, caller.Actor, ct);
        await audit.WriteAsync(caller, "grant", "ok", id, entry.ProviderName, $"client:{client}", ct);
        return (await entries.GetAsync(id, ct))!;
    }

    public async Task<VaultEntry> UngrantAsync(VaultCaller caller, Guid id, string clientId, CancellationToken ct)
    {
        var entry = await OwnedAsync(caller, id, "ungrant", ct);
        if (!await entries.RemoveGrantAsync(id, clientId, ct)) throw VaultErrors.NotFound("Grant");
        await audit.WriteAsync(caller, "ungrant", "ok", id, entry.ProviderName, $"client:{(clientId.Length > 100 ? clientId[..100] : clientId)}", ct);
        return (await entries.GetAsync(id, ct))!;
    }

    /// <summary>The access record of one entry, for its owner.</summary>
    public async Task<IReadOnlyList<VaultAudit.Record>> AuditAsync(VaultCaller caller, Guid id, int limit, int offset, CancellationToken ct)
    {
        var entry = await VisibleAsync(caller, id, VaultCaller.ReadScope, "audit", ct);
        if (!caller.IsFirstPartyUser) throw VaultErrors.Forbidden("Only the entry's owner, at their browser or with the first-party CLI, can read its access record");
        await audit.WriteAsync(caller, "audit", "ok", id, entry.ProviderName, ct: ct);
        return await audit.ListAsync(id, null, limit, offset, ct);
    }

    /// <summary>An entry the caller may see, with the scope the action needs; 404 (and a "denied" record) otherwise.</summary>
    internal async Task<VaultEntry> VisibleAsync(VaultCaller caller, Guid id, string scope, string action, CancellationToken ct)
    {
        try { caller.Require(scope); }
        catch (AuthlyException e)
        {
            await audit.WriteAsync(caller, action, VaultErrors.Outcome(e), id, ct: ct);
            throw;
        }
        if (!cipher.Keys.IsEnabled) throw VaultErrors.NotConfigured(cipher.Keys.DisabledReason);
        var entry = await entries.GetAsync(id, ct);
        if (entry is null || !caller.CanSee(entry))
        {
            await audit.WriteAsync(caller, action, entry is null ? "NOT_FOUND" : "denied", id, ct: ct);
            throw VaultErrors.NotFound("Vault entry");
        }
        return entry;
    }

    private async Task<VaultEntry> OwnedAsync(VaultCaller caller, Guid id, string action, CancellationToken ct)
    {
        var entry = await VisibleAsync(caller, id, VaultCaller.WriteScope, action, ct);
        if (!caller.IsFirstPartyUser)
        {
            await audit.WriteAsync(caller, action, "denied", id, entry.ProviderName, ct: ct);
            throw VaultErrors.Forbidden("Only the entry's owner, at their browser or with the first-party CLI, can change who may use it");
        }
        if (entry.Status == VaultEntry.Revoked) throw VaultErrors.Conflict("The entry is revoked", "ENTRY_REVOKED");
        return entry;
    }

    internal async Task<VaultProvider> ActiveProviderAsync(string? name, CancellationToken ct)
    {
        if (!cipher.Keys.IsEnabled) throw VaultErrors.NotConfigured(cipher.Keys.DisabledReason);
        var provider = await providers.FindAsync(VaultRules.ProviderName(name, "provider"), ct) ?? throw VaultErrors.NotFound("Provider");
        if (!provider.IsActive) throw VaultErrors.Conflict($"The provider '{provider.Name}' is disabled", "PROVIDER_DISABLED");
        return provider;
    }

    /// <summary>RFC 7009 at the provider, best effort: "revoked", "not_supported" or the error code.</summary>
    internal async Task<string> RevokeUpstreamAsync(VaultProvider provider, string token, string hint, CancellationToken ct)
    {
        try { return await upstreams.For(provider).RevokeAsync(provider, token, hint, ct) ? "revoked" : "not_supported"; }
        catch (AuthlyException e)
        {
            log.LogWarning("Revocation at provider {Provider} failed: {Error} ({Detail})", provider.Name, e.Code, e.Private);
            return VaultErrors.Outcome(e);
        }
    }

    private async Task<List<string>> CheckClientsAsync(IEnumerable<string>? clientIds, CancellationToken ct)
    {
        var list = new List<string>();
        foreach (var id in clientIds ?? [])
        {
            if (string.IsNullOrEmpty(id) || id.Length > 255 || await clients.FindActiveAsync(id, ct) is null)
                throw VaultErrors.BadRequest("grant_to names a client that does not exist or is inactive", "grant_to");
            list.Add(id);
        }
        if (list.Count > 20) throw VaultErrors.BadRequest("grant_to names more than 20 clients", "grant_to");
        return list.Distinct(StringComparer.Ordinal).ToList();
    }
}
