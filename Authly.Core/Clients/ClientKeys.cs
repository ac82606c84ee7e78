using System.Collections.Concurrent;
using Authly.Configuration;
using Authly.OAuth;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Clients;

/// <summary>
/// A private_key_jwt client's public keys (RFC 7523 §2.2, OIDC Core §9): its registered jwks, or its jwks_uri
/// fetched over https (plain http only in embedded and testing mode), cached for <see cref="Fresh"/> and fetched
/// again when an assertion names a kid the cached set lacks, at most every <see cref="RefetchAtMost"/> per URL (so an
/// attacker's made-up kids cannot make this server hammer a client's host). No redirects, <see cref="Timeout"/> per
/// fetch, bodies capped at <see cref="ClientKeyRules.MaxJwksCharacters"/>; private and symmetric keys are dropped.
/// </summary>
public sealed class ClientKeys(AuthlyOptions options, TimeProvider clock, ILogger<ClientKeys> log) : IDisposable
{
    public static readonly TimeSpan Fresh = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan RefetchAtMost = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    /// <summary>URLs come from admins, not callers, but the cache is bounded all the same.</summary>
    private const int MaxCachedUris = 1000;

    private sealed record Fetched(IReadOnlyList<JsonWebKey> Keys, DateTimeOffset At);
    private readonly ConcurrentDictionary<string, Fetched> _fetched = new(StringComparer.Ordinal);

    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        ConnectTimeout = TimeSpan.FromSeconds(3),
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        UseCookies = false,
    })
    {
        Timeout = Timeout,
        MaxResponseContentBufferSize = ClientKeyRules.MaxJwksCharacters,
    };

    /// <summary>The client's verification keys; with a kid the cached set lacks, the jwks_uri is fetched again (bounded).</summary>
    /// <exception cref="OAuthException">invalid_client: the keys cannot be had (the cause is in the private detail)</exception>
    public async Task<IReadOnlyList<JsonWebKey>> ForAsync(Client client, string? kid, CancellationToken ct)
    {
        if (client.Jwks is not null) return Parse(client.Jwks);
        if (client.JwksUri is null) throw OAuthException.InvalidClient($"client {client.ClientId} has no jwks or jwks_uri");
        if (ClientKeyRules.JwksUriProblem(client.JwksUri, options) is { } problem)
            throw OAuthException.InvalidClient($"client {client.ClientId}: jwks_uri {problem}; not fetched");

        var now = clock.GetUtcNow();
        if (_fetched.TryGetValue(client.JwksUri, out var hit))
        {
            var known = kid is null || hit.Keys.Any(k => k.Kid == kid);
            if (now - hit.At < (known ? Fresh : RefetchAtMost)) return hit.Keys;
        }
        var keys = await FetchAsync(client, client.JwksUri, ct);
        if (keys is null)
        {
            // Unreachable or malformed: the keys fetched before still verify, for as long as they would have.
            if (hit is not null) return hit.Keys;
            throw OAuthException.InvalidClient($"client {client.ClientId}: its jwks_uri gave no usable keys");
        }
        if (_fetched.Count >= MaxCachedUris) _fetched.Clear();
        _fetched[client.JwksUri] = new Fetched(keys, now);
        return keys;
    }

    private async Task<IReadOnlyList<JsonWebKey>?> FetchAsync(Client client, string uri, CancellationToken ct)
    {
        try
        {
            using var response = await _http.GetAsync(uri, ct);
            if (!response.IsSuccessStatusCode)
            {
                log.LogWarning("jwks_uri of client {ClientId} answered {Status}", client.ClientId, (int)response.StatusCode);
                return null;
            }
            return Parse(await response.Content.ReadAsStringAsync(ct));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or ArgumentException or System.Text.Json.JsonException && !ct.IsCancellationRequested)
        {
            log.LogWarning("jwks_uri of client {ClientId} could not be fetched: {Reason}", client.ClientId, e.GetType().Name);
            return null;
        }
    }

    /// <summary>The RSA and EC public keys of a JWK Set; anything else (symmetric keys, private parts) is left out.</summary>
    public static IReadOnlyList<JsonWebKey> Parse(string json)
    {
        var set = new JsonWebKeySet(json);
        return set.Keys.Where(k => k.Kty is "RSA" or "EC" && !k.HasPrivateKey && string.IsNullOrEmpty(k.K)).ToList();
    }

    public void Dispose() => _http.Dispose();
}
