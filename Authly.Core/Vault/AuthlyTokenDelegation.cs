using System.Text.Json.Serialization;
using Authly.Clients;
using Authly.Grants;
using Authly.OAuth;

namespace Authly.Vault;

/// <summary>
/// POST /api/v1/vault/tokens/{id}/authly-token (issue 18): a service client that the user granted an entry of this
/// Authly (provider "authly") gets a down-scoped access token of this Authly for that user, through the token-exchange
/// rules (<see cref="TokenExchangeGrant.ForVaultEntryAsync"/>): the service needs a token-exchange policy, the token's
/// sub is the entry's user, its scope ⊆ the entry's scope ∩ the policy, its act names the service, and it never outlives
/// the entry's refresh token. Only the service itself, with its own client_credentials token, may ask: a user's token
/// (even one issued through that service) is refused. Withdrawing the grant stops further tokens at once. The entry's
/// refresh token is only looked up, never refreshed: the entry is unchanged.
/// </summary>
public sealed class AuthlyTokenDelegation(TokenVault vault, VaultEntryStore entries, VaultProviderStore providers, ClientStore clients,
    TokenExchangeGrant exchange, VaultAudit audit)
{
    private const string Action = "authly_token";

    public sealed record Request
    {
        /// <summary>Narrower scope (within the entry's scope ∩ the service's exchange policy); omitted, all of that.</summary>
        [JsonPropertyName("scope")] public string? Scope { get; init; }
        /// <summary>RFC 8693 §2.1 audience: one of the policy's audiences; omitted, this Authly's own.</summary>
        [JsonPropertyName("audience")] public string? Audience { get; init; }
    }

    public sealed record Issued
    {
        [JsonPropertyName("access_token")] public required string AccessToken { get; init; }
        [JsonPropertyName("token_type")] public required string TokenType { get; init; }
        [JsonPropertyName("issued_token_type")] public required string IssuedTokenType { get; init; }
        [JsonPropertyName("expires_in")] public int ExpiresIn { get; init; }
        [JsonPropertyName("scope")] public required string Scope { get; init; }
        [JsonPropertyName("entry_id")] public Guid EntryId { get; init; }

        public override string ToString() => $"Issued {{ EntryId = {EntryId}, Scope = {Scope} }}";
    }

    public async Task<Issued> IssueAsync(VaultCaller caller, Guid id, Request r, CancellationToken ct)
    {
        var visible = await vault.VisibleAsync(caller, id, VaultCaller.ReadScope, Action, ct);
        try
        {
            if (caller.Kind != VaultCaller.Kinds.Client)
                throw VaultErrors.Forbidden("Only a service client the entry is granted to, with its own client_credentials token, can get an Authly token for it");
            var scope = VaultRules.Scope(r.Scope);
            var audience = r.Audience is null ? null : VaultRules.Text(r.Audience, "audience", 2000);
            if (visible.Status == VaultEntry.Revoked) throw VaultErrors.Conflict("The entry is revoked", "ENTRY_REVOKED");
            var provider = await providers.GetAsync(visible.ProviderId, ct) ?? throw VaultErrors.NotFound("Provider");
            if (!provider.IsLocal || provider.ClientId is null)
                throw VaultErrors.Conflict("Only an entry of this Authly (provider 'authly') can be exchanged for an Authly token", "NOT_AN_AUTHLY_ENTRY");
            if (!provider.IsActive) throw VaultErrors.Conflict($"The provider '{provider.Name}' is disabled", "PROVIDER_DISABLED");
            var service = await clients.FindActiveAsync(caller.ClientId!, ct) ?? throw VaultErrors.Forbidden("The calling client is inactive");
            TokenResponse issued;
            try
            {
                issued = await exchange.ForVaultEntryAsync(service, provider.ClientId, entries.RefreshToken(visible), visible.UserId, visible.Scope,
                    scope, audience, ct);
            }
            catch (OAuthException e) { throw VaultErrors.ExchangeRefused(e); }
            await audit.WriteAsync(caller, Action, "ok", id, provider.Name, $"scope: {issued.Scope}", ct);
            return new Issued
            {
                AccessToken = issued.AccessToken, TokenType = issued.TokenType, IssuedTokenType = issued.IssuedTokenType!,
                ExpiresIn = issued.ExpiresIn, Scope = issued.Scope, EntryId = id,
            };
        }
        catch (AuthlyException e)
        {
            await audit.WriteAsync(caller, Action, VaultErrors.Outcome(e), id, visible.ProviderName, ct: ct);
            throw;
        }
    }
}
