using Authly.Authorization;
using Authly.Scopes;
using Authly.Security;
using Authly.Tokens;
using Microsoft.Extensions.Logging;

namespace Authly.Vault;

/// <summary>
/// The connect flow: GET /api/v1/vault/connect/{provider} sends the signed-in user to the
/// provider with an authorization code + PKCE request for offline_access; the provider sends
/// them back to /api/v1/vault/callback, where the code becomes tokens and the refresh token is
/// stored for that user. State and verifier never leave the server except as the state value
/// and the S256 challenge; the state is single-use, ten minutes long and bound to the user who
/// started, so a callback completed in someone else's browser stores nothing.
/// </summary>
public sealed class VaultConnect(VaultProviderStore providers, Upstreams upstreams, VaultConnectStateStore states, TokenVault vault, VaultAudit audit,
    Issuer issuer, ILogger<VaultConnect> log)
{
    public const string CallbackPath = "/api/v1/vault/callback";

    public sealed record Completed(VaultEntry Entry, string? ReturnTo);

    /// <returns>the provider's authorization URL to redirect the browser to</returns>
    public async Task<string> StartAsync(VaultCaller caller, string providerName, string? purpose, string? extraScope, string? returnTo, CancellationToken ct)
    {
        VaultProvider? provider = null;
        try
        {
            caller.Require(VaultCaller.WriteScope);
            if (caller.Kind != VaultCaller.Kinds.User) throw VaultErrors.Forbidden("Only a signed-in user can connect a provider");
            provider = await vault.ActiveProviderAsync(providerName, ct);
            if (!provider.IsLocal && provider.ClientId is null) throw VaultErrors.Conflict("The provider has no client configured", "PROVIDER_INCOMPLETE");
            var p = VaultRules.Purpose(purpose);
            var scope = ScopeFor(provider, VaultRules.Scope(extraScope));
            if (returnTo is not null && !IsLocalPath(returnTo))
                throw VaultErrors.BadRequest("return_to must be a path on this server (starting with a single '/')", "return_to");

            var state = OpaqueToken.New(32);
            var verifier = OpaqueToken.New(32); // 43 characters of [A-Za-z0-9-_]: a valid RFC 7636 §4.1 verifier
            var nonce = OpaqueToken.New(16);
            var redirectUri = issuer.Value + CallbackPath;
            await states.CreateAsync(OpaqueToken.Hash(state), caller.UserId!.Value, provider.Id, p, scope, nonce, redirectUri, returnTo, verifier, ct);
            var url = await upstreams.For(provider).AuthorizationUrlAsync(provider, redirectUri, scope, state, Pkce.Challenge(verifier), nonce, ct);
            await audit.WriteAsync(caller, "connect_start", "ok", provider: provider.Name, detail: $"purpose {p}", ct: ct);
            return url;
        }
        catch (AuthlyException e)
        {
            if (e.Private is not null) log.LogWarning("Connect start failed: {Error} ({Detail})", e.Code, e.Private);
            await audit.WriteAsync(caller, "connect_start", VaultErrors.Outcome(e), provider: provider?.Name ?? Short(providerName), ct: ct);
            throw;
        }
    }

    /// <summary>The callback: exchanges the code and stores the refresh token for the user who started the flow.</summary>
    public async Task<Completed> CompleteAsync(VaultCaller caller, IReadOnlyDictionary<string, string> query, CancellationToken ct)
    {
        string? providerName = null;
        try
        {
            if (!query.TryGetValue("state", out var state) || state.Length is 0 or > 200)
                throw VaultErrors.BadRequest("The callback has no state", "state");
            var consumed = await states.ConsumeAsync(OpaqueToken.Hash(state), ct)
                           ?? throw new AuthlyException(400, "This connect link has expired or was already used; start again", "CONNECT_STATE_INVALID");
            var (s, verifier) = consumed;
            var provider = await providers.GetAsync(s.ProviderId, ct) ?? throw VaultErrors.NotFound("Provider");
            providerName = provider.Name;
            if (caller.Kind != VaultCaller.Kinds.User || caller.UserId != s.UserId)
                throw new AuthlyException(403, "The connect flow was started by another user; start again while signed in", "CONNECT_USER_MISMATCH");
            if (!provider.IsActive) throw VaultErrors.Conflict($"The provider '{provider.Name}' is disabled", "PROVIDER_DISABLED");
            var upstream = upstreams.For(provider);

            // RFC 9207 §2.4: the response must come from the provider we sent the user to (mix-up defence).
            var (expectedIssuer, issRequired) = await upstream.AuthorizationResponseIssuerAsync(provider, ct);
            if (query.TryGetValue("iss", out var iss) ? iss != expectedIssuer : issRequired)
                throw new AuthlyException(400, "The authorization response did not come from the expected provider (iss)", "CONNECT_ISSUER_MISMATCH");
            if (query.TryGetValue("error", out var error))
                throw new AuthlyException(400, $"The provider did not grant access ({SafeCode(error)})", "CONNECT_DENIED");
            if (!query.TryGetValue("code", out var code) || code.Length is 0 or > 4096)
                throw VaultErrors.BadRequest("The callback has no code", "code");

            var tokens = await upstream.ExchangeCodeAsync(provider, code, s.RedirectUri, verifier, ct);
            if (tokens.RefreshToken is null)
                throw new AuthlyException(502, $"The provider '{provider.Name}' issued no refresh token; it may not allow offline_access for Authly's client",
                    "UPSTREAM_NO_REFRESH_TOKEN");
            var subject = await upstream.SubjectAsync(provider, tokens, s.Nonce, ct);
            var entry = await vault.StoreConnectedAsync(caller, provider, s.Purpose, tokens.RefreshToken, tokens.Scope ?? s.Scope, subject, ct);
            return new Completed(entry, s.ReturnTo);
        }
        catch (AuthlyException e)
        {
            // The endpoint shows this on an HTML page, not through the API filter: log the private half here.
            if (e.Private is not null) log.LogWarning("Connect callback failed: {Error} ({Detail})", e.Code, e.Private);
            await audit.WriteAsync(caller, "connect_complete", VaultErrors.Outcome(e), provider: providerName, ct: ct);
            throw;
        }
    }

    /// <summary>openid and offline_access always (an offline token is the point), then the provider's and the caller's extra scopes.</summary>
    private static string ScopeFor(VaultProvider provider, string? extra)
    {
        var scopes = new List<string> { OidcScopes.OpenId, OidcScopes.OfflineAccess };
        foreach (var s in $"{provider.Scopes} {extra}".Split(' ', StringSplitOptions.RemoveEmptyEntries))
            if (!scopes.Contains(s, StringComparer.Ordinal)) scopes.Add(s);
        return string.Join(' ', scopes);
    }

    /// <summary>A path on this server: one leading '/', no scheme-relative '//' and no backslash (browsers treat '\' as '/').</summary>
    public static bool IsLocalPath(string path) =>
        path.Length is > 0 and <= 1000 && path[0] == '/' && !path.StartsWith("//", StringComparison.Ordinal) && !path.Contains('\\')
        && !path.Any(char.IsControl);

    private static string SafeCode(string error) =>
        error.Length <= 40 && error.All(c => c is >= 'a' and <= 'z' or '_') ? error : "error";

    private static string Short(string s) => s.Length <= 63 ? s : s[..63];
}
