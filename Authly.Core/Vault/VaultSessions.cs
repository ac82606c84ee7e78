using System.Text.Json.Serialization;
using Authly.Sessions;

namespace Authly.Vault;

/// <summary>
/// A user's sign-in sessions: always Authly's own, and at each provider the user has an entry
/// for, where that provider offers a way to list them. Which do: this Authly (provider kind
/// "local"). Standard OpenID providers do not — OpenID Connect has logout, but no API to list or
/// end a user's sessions — so those are reported with sessions_supported=false.
/// </summary>
public sealed class VaultSessions(SessionStore sessions, VaultEntryStore entries, VaultProviderStore providers, Upstreams upstreams, TokenVault vault,
    VaultAudit audit)
{
    public sealed record ProviderSessions(
        [property: JsonPropertyName("provider")] string Provider,
        [property: JsonPropertyName("entry_id")] Guid EntryId,
        [property: JsonPropertyName("purpose")] string Purpose,
        [property: JsonPropertyName("sessions_supported")] bool Supported,
        [property: JsonPropertyName("sessions"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<UpstreamSession>? Sessions,
        [property: JsonPropertyName("detail"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Detail);

    public sealed record Overview(
        [property: JsonPropertyName("authly")] IReadOnlyList<UpstreamSession> Authly,
        [property: JsonPropertyName("providers")] IReadOnlyList<ProviderSessions> Providers);

    public async Task<Overview> ListAsync(VaultCaller caller, CancellationToken ct)
    {
        var userId = RequireUser(caller, VaultCaller.ReadScope);
        // Authly's own sessions (addresses, browsers, and the sids that end them) only to a first-party caller or
        // account:read: a third-party app with vault access sees the provider sessions of its entries only.
        var own = !MayManageAuthlySessions(caller, Scopes.UserScopePolicy.AccountRead) ? [] : (await sessions.ListActiveAsync(userId, ct))
            .Select(s => new UpstreamSession(s.Sid, s.CreatedAt, s.LastSeenAt, s.IdleExpiresAt, s.Ip, s.UserAgent)).ToList();
        var result = new List<ProviderSessions>();
        foreach (var e in await entries.ListAsync(userId, caller.ClientId, null, null, includeRevoked: false, 1000, 0, ct))
        {
            var provider = await providers.GetAsync(e.ProviderId, ct);
            if (provider is null) continue;
            if (e.Subject is null)
            {
                result.Add(new ProviderSessions(provider.Name, e.Id, e.Purpose, false, null, "the user's id at the provider is not known for this entry"));
                continue;
            }
            try
            {
                var list = await upstreams.For(provider).ListSessionsAsync(provider, e.Subject, ct);
                result.Add(list is null
                    ? new ProviderSessions(provider.Name, e.Id, e.Purpose, false, null, "this provider offers no API to list a user's sessions")
                    : new ProviderSessions(provider.Name, e.Id, e.Purpose, true, list, null));
            }
            catch (AuthlyException x)
            {
                result.Add(new ProviderSessions(provider.Name, e.Id, e.Purpose, true, null, x.Detail));
            }
        }
        await audit.WriteAsync(caller, "sessions_list", "ok", ct: ct);
        return new Overview(own, result);
    }

    /// <summary>Ends one of the caller's own Authly sessions.</summary>
    public async Task EndAuthlySessionAsync(VaultCaller caller, string sid, CancellationToken ct)
    {
        var userId = RequireUser(caller, VaultCaller.WriteScope);
        if (!MayManageAuthlySessions(caller, Scopes.UserScopePolicy.AccountWrite))
            throw VaultErrors.Forbidden("Ending Authly sessions needs a first-party caller or the account:write scope");
        var ended = sid.Length <= 100 && await sessions.EndBySidAsync(sid, userId, ct);
        await audit.WriteAsync(caller, "session_end", ended ? "ok" : "NOT_FOUND", provider: VaultProvider.LocalName, ct: ct);
        if (!ended) throw VaultErrors.NotFound("Session");
    }

    /// <summary>Ends a session at the provider of one of the caller's entries, where the provider allows it.</summary>
    public async Task EndProviderSessionAsync(VaultCaller caller, Guid entryId, string sid, CancellationToken ct)
    {
        RequireUser(caller, VaultCaller.WriteScope);
        var entry = await vault.VisibleAsync(caller, entryId, VaultCaller.WriteScope, "session_end", ct);
        var provider = await providers.GetAsync(entry.ProviderId, ct) ?? throw VaultErrors.NotFound("Provider");
        bool? ended = entry.Subject is null || sid.Length > 100 ? false : await upstreams.For(provider).EndSessionAsync(provider, entry.Subject, sid, ct);
        await audit.WriteAsync(caller, "session_end", ended switch { true => "ok", false => "NOT_FOUND", null => "NOT_SUPPORTED" }, entryId, provider.Name, ct: ct);
        if (ended is null) throw new AuthlyException(501, $"The provider '{provider.Name}' offers no API to end a user's sessions", "NOT_SUPPORTED");
        if (ended is false) throw VaultErrors.NotFound("Session");
    }

    /// <summary>The user in person (browser session or first-party CLI), or a token carrying the account scope.</summary>
    private static bool MayManageAuthlySessions(VaultCaller caller, string accountScope) =>
        caller.IsFirstPartyUser || caller.Scopes.Contains(accountScope);

    private static Guid RequireUser(VaultCaller caller, string scope)
    {
        caller.Require(scope);
        if (caller.Kind != VaultCaller.Kinds.User) throw VaultErrors.Forbidden("Sessions are listed for the signed-in user only");
        return caller.UserId!.Value;
    }
}
