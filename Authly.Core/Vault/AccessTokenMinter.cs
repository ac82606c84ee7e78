using System.Text.Json.Serialization;

namespace Authly.Vault;

/// <summary>
/// POST /api/v1/vault/tokens/{id}/access-token: a fresh access token from the entry's refresh
/// token (RFC 6749 §6 at the provider).
///
/// Rotation-safe: the upstream refresh runs with the entry's row locked (SELECT … FOR UPDATE),
/// and the rotated refresh token the provider returns replaces the stored one in the same
/// transaction. A second caller — on this node or another — waits for the lock and then finds
/// either the new access token in the cache or the new refresh token; it never presents the
/// burnt one (which a rotating provider would treat as reuse and answer by revoking the family).
///
/// The last access token is kept, sealed, in the row until 30 s before it expires; a request for
/// the same scope and resource gets it without a round trip to the provider.
/// </summary>
public sealed class AccessTokenMinter(VaultEntryStore entries, VaultProviderStore providers, Upstreams upstreams, TokenVault vault, VaultAudit audit,
    TimeProvider clock)
{
    /// <summary>A cached token is handed out only while it has at least this long to live.</summary>
    public static readonly TimeSpan MinRemaining = TimeSpan.FromSeconds(30);

    public sealed record Request
    {
        /// <summary>Narrower scope for this token (RFC 6749 §6: a subset of the granted scope).</summary>
        [JsonPropertyName("scope")] public string? Scope { get; init; }
        /// <summary>RFC 8707 resource (the audience), passed to providers that support it.</summary>
        [JsonPropertyName("resource")] public string? Resource { get; init; }
        /// <summary>Skip the cache, e.g. after the API rejected the cached token.</summary>
        [JsonPropertyName("force_refresh")] public bool? ForceRefresh { get; init; }
    }

    public sealed record Minted
    {
        [JsonPropertyName("access_token")] public required string AccessToken { get; init; }
        [JsonPropertyName("token_type")] public required string TokenType { get; init; }
        [JsonPropertyName("expires_in"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? ExpiresIn { get; init; }
        [JsonPropertyName("scope"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Scope { get; init; }
        [JsonPropertyName("entry_id")] public Guid EntryId { get; init; }
        [JsonPropertyName("provider")] public required string Provider { get; init; }
        /// <summary>True when served from the cache without asking the provider.</summary>
        [JsonPropertyName("cached")] public bool Cached { get; init; }

        public override string ToString() => $"Minted {{ EntryId = {EntryId}, Provider = {Provider}, Cached = {Cached} }}";
    }

    public async Task<Minted> MintAsync(VaultCaller caller, Guid id, Request r, CancellationToken ct)
    {
        var visible = await vault.VisibleAsync(caller, id, VaultCaller.ReadScope, "mint", ct);
        try
        {
            var scope = VaultRules.Scope(r.Scope);
            var resource = VaultRules.Resource(r.Resource);
            var requestKey = RequestKey(scope, resource);
            var force = r.ForceRefresh ?? false;
            var provider = await providers.GetAsync(visible.ProviderId, ct) ?? throw VaultErrors.NotFound("Provider");
            if (!provider.IsActive) throw VaultErrors.Conflict($"The provider '{provider.Name}' is disabled", "PROVIDER_DISABLED");
            Check(visible, provider);
            // RFC 6749 §6: a narrower scope only. Checked here, before the provider is asked: some providers
            // (Authly among them) rotate the refresh token before refusing the scope, which would burn the stored one.
            if (scope is not null && visible.Scope.Length > 0)
            {
                var granted = visible.Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Except(granted, StringComparer.Ordinal).Any())
                    throw new AuthlyException(400, $"The requested scope exceeds the scope granted for this entry ({visible.Scope})", "SCOPE_NOT_GRANTED")
                        { Field = "scope" };
            }

            // Fast path, no lock: a cached token for the same request.
            if (!force && Cached(visible, requestKey, provider) is { } hit)
            {
                await entries.TouchAsync(id, ct);
                await audit.WriteAsync(caller, "mint", "ok", id, provider.Name, "cached", ct);
                return hit;
            }

            var (minted, error) = await entries.UpdateLockedAsync<(Minted? Minted, AuthlyException? Error)>(id, async entry =>
            {
                Check(entry, provider);
                // Whoever held the lock before us may have just refreshed: use their token.
                if (!force && Cached(entry, requestKey, provider) is { } fresh) return (new VaultEntryStore.Change(), (fresh, null));
                var refreshToken = entries.RefreshToken(entry);
                UpstreamTokenResponse tokens;
                try { tokens = await upstreams.For(provider).RefreshAsync(provider, refreshToken, scope, resource, ct); }
                catch (AuthlyException e) when (e.Code == VaultErrors.InvalidGrantCode)
                {
                    // Definitive: the token is dead upstream. Remember it, so later calls fail fast without asking again.
                    return (new VaultEntryStore.Change { Status = VaultEntry.InvalidGrant }, (null, e));
                }
                var now = clock.GetUtcNow();
                DateTime? expires = tokens.ExpiresIn is { } s ? (now + TimeSpan.FromSeconds(s)).UtcDateTime : null;
                var change = new VaultEntryStore.Change
                {
                    // RFC 6749 §6 / OAuth 2.1 §4.3.1: a new refresh token replaces the old one, which is now invalid.
                    RefreshToken = tokens.RefreshToken is { } rotated && rotated != refreshToken ? rotated : null,
                    // Only a token that will live past the cache margin is worth keeping.
                    AccessToken = expires is { } e1 && e1 - now.UtcDateTime > MinRemaining ? tokens.AccessToken : null,
                    AccessTokenExpiresAt = expires,
                    AccessTokenRequest = requestKey,
                    // The full grant's scope is what the entry holds; a narrowed request does not change it.
                    Scope = scope is null ? tokens.Scope : null,
                    Refreshed = true,
                };
                return (change, (new Minted
                {
                    AccessToken = tokens.AccessToken, TokenType = tokens.TokenType, ExpiresIn = tokens.ExpiresIn, Scope = tokens.Scope ?? scope,
                    EntryId = id, Provider = provider.Name, Cached = false,
                }, null));
            }, ct);
            if (error is not null) throw error;
            await audit.WriteAsync(caller, "mint", "ok", id, provider.Name, minted!.Cached ? "cached" : "refreshed", ct);
            return minted!;
        }
        catch (AuthlyException e)
        {
            await audit.WriteAsync(caller, "mint", VaultErrors.Outcome(e), id, visible.ProviderName, ct: ct);
            throw;
        }
    }

    private static void Check(VaultEntry entry, VaultProvider provider)
    {
        if (entry.Status == VaultEntry.Revoked) throw VaultErrors.Conflict("The entry is revoked", "ENTRY_REVOKED");
        if (entry.Status == VaultEntry.InvalidGrant) throw VaultErrors.UpstreamInvalidGrant(provider.Name, "entry already marked invalid_grant");
    }

    private Minted? Cached(VaultEntry entry, string requestKey, VaultProvider provider)
    {
        if (entry.AccessTokenEncrypted is null || entry.AccessTokenExpiresAt is not { } expires || entry.AccessTokenRequest != requestKey) return null;
        var remaining = expires - clock.GetUtcNow().UtcDateTime;
        if (remaining <= MinRemaining) return null;
        var token = entries.CachedAccessToken(entry);
        if (token is null) return null;
        var scope = requestKey.Split('\n')[0];
        return new Minted
        {
            AccessToken = token, TokenType = "Bearer", ExpiresIn = (int)remaining.TotalSeconds, Scope = scope.Length > 0 ? scope : entry.Scope,
            EntryId = entry.Id, Provider = provider.Name, Cached = true,
        };
    }

    /// <summary>What the cached token was minted for: scope (sorted) and resource. Only an identical request reuses it.</summary>
    private static string RequestKey(string? scope, string? resource) =>
        string.Join(' ', (scope ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal)) + "\n" + (resource ?? "");
}
