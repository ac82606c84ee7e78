using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;

namespace Authly.Vault;

/// <summary>
/// POST /api/v1/vault/validate: is this access token valid at that provider? A JWT is checked
/// here against the provider's JWKS (signature, iss, exp/nbf); anything else, or method
/// "introspection", is asked of the provider's RFC 7662 endpoint with Authly's client. Answers
/// are cached per node by the token's SHA-256 — 30 s at most and never past the token's expiry
/// for active tokens, 10 s for inactive ones — so a busy API does not hammer the provider. A
/// JWKS check cannot see a revocation at the provider; ask for "introspection" when that matters.
/// </summary>
public sealed class VaultTokenValidation(TokenVault vault, Upstreams upstreams, VaultAudit audit, TimeProvider clock)
{
    public static readonly TimeSpan ActiveFor = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan InactiveFor = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, (TokenValidation Result, DateTimeOffset Expires)> _cache = new(StringComparer.Ordinal);

    public sealed record Request
    {
        [JsonPropertyName("provider")] public string? Provider { get; init; }
        [JsonPropertyName("token")] public string? Token { get; init; }
        /// <summary>null (auto), "introspection" or "jwks".</summary>
        [JsonPropertyName("method")] public string? Method { get; init; }
    }

    public async Task<TokenValidation> ValidateAsync(VaultCaller caller, Request r, CancellationToken ct)
    {
        try
        {
            caller.Require(VaultCaller.ReadScope);
            var provider = await vault.ActiveProviderAsync(r.Provider, ct);
            if (string.IsNullOrEmpty(r.Token)) throw VaultErrors.BadRequest("token is required", "token");
            if (r.Token.Length > 16384) throw VaultErrors.BadRequest("token is too long", "token");
            if (r.Method is not (null or "introspection" or "jwks")) throw VaultErrors.BadRequest("method must be introspection or jwks", "method");

            var key = $"{provider.Id}:{r.Method}:{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(r.Token)))}";
            var now = clock.GetUtcNow();
            TokenValidation result;
            if (_cache.TryGetValue(key, out var hit) && hit.Expires > now) result = hit.Result with { Cached = true };
            else
            {
                result = await upstreams.For(provider).ValidateAsync(provider, r.Token, r.Method, ct) with { Provider = provider.Name };
                var ttl = InactiveFor;
                if (result.Active)
                {
                    ttl = ActiveFor;
                    if (result.Exp is { } exp)
                    {
                        var left = DateTimeOffset.FromUnixTimeSeconds(exp) - now;
                        if (left < ttl) ttl = left;
                    }
                }
                if (_cache.Count > 10_000) _cache.Clear();
                if (ttl > TimeSpan.Zero) _cache[key] = (result, now + ttl);
            }
            await audit.WriteAsync(caller, "validate", result.Active ? "active" : "inactive", provider: provider.Name,
                detail: $"{result.Method}{(result.Cached ? ", cached" : "")}", ct: ct);
            return result;
        }
        catch (AuthlyException e)
        {
            await audit.WriteAsync(caller, "validate", VaultErrors.Outcome(e), provider: r.Provider is { Length: <= 63 } n ? n : null, ct: ct);
            throw;
        }
    }
}
