using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Authly.OAuth.Dpop;
using Authly.Scopes;
using Authly.Security;
using Authly.Tokens;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Proxy;

/// <summary>
/// Turns a bearer token into a <see cref="ProxyPrincipal"/> for the proxies, without a database:
/// <list type="number">
/// <item>a JWT is checked here first — signature against Authly's JWKS (fetched once, fetched
/// again at most every 10 s when a token names a kid it has not seen, so a key rotation is picked
/// up), typ, iss, aud, and exp, nbf and iat against the clock by <see cref="TokenLifetime"/>. A token that fails this is refused with no
/// round trip;</item>
/// <item>then RFC 7662 introspection at Authly says whether it is still active (revoked tokens,
/// deactivated users) and, for a token that cannot be checked locally (an HS256 deployment, whose
/// key is not published), whether it is valid at all. A positive answer is kept for at most one
/// second, so a revocation is seen within a second; a negative one is not kept.</item>
/// </list>
/// When Authly cannot be reached the proxy fails closed (503): it never lets a token through unchecked.
/// </summary>
public sealed class ProxyTokenValidator(ProxyOptions options, HttpClient http, TimeProvider clock, ILogger<ProxyTokenValidator> log)
{
    public static readonly TimeSpan PositiveCacheFor = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan JwksRefetchAtMost = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan JwksFresh = TimeSpan.FromMinutes(10);
    private const int MaxTokenLength = 16 * 1024;
    private const int MaxCacheEntries = 10_000;
    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    private readonly ConcurrentDictionary<string, (ProxyPrincipal Principal, DateTimeOffset Until)> _active = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _fetch = new(1, 1);
    private Metadata? _metadata;
    private IList<SecurityKey> _keys = [];
    private DateTimeOffset _keysFetchedAt = DateTimeOffset.MinValue;

    private sealed record Metadata(string Issuer, string? JwksUri, string IntrospectionEndpoint);

    /// <summary>The token of an <c>Authorization: Bearer …</c> header (RFC 6750 §2.1), or a 401.</summary>
    public static string BearerToken(string? authorization) => SchemeToken(authorization, "Bearer ");

    /// <summary>The b64token after <paramref name="scheme"/> (Bearer, RFC 6750 §2.1; DPoP, RFC 9449 §7.1), or a 401.</summary>
    private static string SchemeToken(string? authorization, string scheme)
    {
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) throw ProxyErrors.MissingAuth();
        var token = authorization[scheme.Length..].Trim();
        // b64token: ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" followed by "="s.
        if (token.Length is 0 or > MaxTokenLength) throw ProxyErrors.MissingAuth();
        var end = token.Length;
        while (end > 0 && token[end - 1] == '=') end--;
        for (var i = 0; i < end; i++)
            if (!(char.IsAsciiLetterOrDigit(token[i]) || token[i] is '-' or '.' or '_' or '~' or '+' or '/')) throw ProxyErrors.MissingAuth();
        return token;
    }

    public Task<ProxyPrincipal> AuthenticateHeaderAsync(string? authorization, CancellationToken ct) =>
        AuthenticateAsync(BearerToken(authorization), ct);

    // RFC 9449 §11.1: the proxy has no store of Authly's, so a proof is single use at this proxy process; no server nonces.
    private readonly DpopProofValidator _proofs = new(new InProcessDpopReplayCache(clock), nonces: null, clock,
        TimeSpan.FromSeconds(60), options.ClockLeeway);

    /// <summary>
    /// An HTTP request's caller: <c>Authorization: Bearer</c> (never a DPoP-bound token), or <c>Authorization: DPoP</c> with one
    /// DPoP proof for <paramref name="method"/> <paramref name="url"/> carrying the token's ath, signed by the key the token
    /// is bound to (RFC 9449 §7.1). A bad proof is an <see cref="OAuth.OAuthException"/> with the DPoP challenge.
    /// </summary>
    public async Task<ProxyPrincipal> AuthenticateRequestAsync(string? authorization, IReadOnlyList<string> proofs, string method, string url,
        CancellationToken ct)
    {
        if (authorization is null || !authorization.StartsWith("DPoP ", StringComparison.OrdinalIgnoreCase))
            return await AuthenticateHeaderAsync(authorization, ct);
        var token = SchemeToken(authorization, "DPoP ");
        var principal = await ValidateAsync(token, ct);
        if (principal.Jkt is null) throw ProxyErrors.BadToken();
        var proof = await _proofs.ValidateAsync(proofs, method, url, token, atResource: true, ct);
        if (!System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(principal.Jkt), Encoding.ASCII.GetBytes(proof.Jkt)))
            throw new OAuth.OAuthException(OAuth.OAuthErrors.InvalidDpopProof, "The DPoP proof is not signed by the key the access token is bound to")
                { DpopChallenge = true };
        return principal;
    }

    /// <summary>
    /// The principal of a valid, active bearer token; a 401 <see cref="AuthlyException"/> otherwise (503 when Authly cannot be
    /// asked). A DPoP-bound token is refused: here it comes without a proof (RFC 9449 §7.1).
    /// </summary>
    public async Task<ProxyPrincipal> AuthenticateAsync(string token, CancellationToken ct) =>
        await ValidateAsync(token, ct) is { Jkt: null } principal ? principal : throw ProxyErrors.DpopBound();

    private async Task<ProxyPrincipal> ValidateAsync(string token, CancellationToken ct)
    {
        if (token.Length is 0 or > MaxTokenLength) throw ProxyErrors.BadToken();
        var now = clock.GetUtcNow();
        var cacheKey = Convert.ToHexString(OpaqueToken.Hash(token));
        if (_active.TryGetValue(cacheKey, out var hit) && hit.Until > now) return hit.Principal;

        var metadata = await MetadataAsync(ct);
        if (LooksLikeJwt(token) && metadata.JwksUri is not null)
        {
            var local = await CheckLocallyAsync(token, metadata, ct);
            if (local == LocalResult.Invalid) throw ProxyErrors.BadToken();
        }
        var (principal, exp) = await IntrospectAsync(token, metadata, ct);
        var until = now + PositiveCacheFor;
        if (exp is { } e && e < until) until = e;
        if (_active.Count >= MaxCacheEntries) _active.Clear();
        _active[cacheKey] = (principal, until);
        return principal;
    }

    private enum LocalResult { Valid, Invalid, Unknown }

    private async Task<LocalResult> CheckLocallyAsync(string token, Metadata metadata, CancellationToken ct)
    {
        JsonWebToken parsed;
        try { parsed = Handler.ReadJsonWebToken(token); }
        catch (ArgumentException) { return LocalResult.Invalid; }
        // A symmetric token (HS256 deployments) cannot be checked with published keys: introspection decides.
        if (parsed.Alg is not ("RS256" or "RS384" or "RS512" or "PS256" or "ES256" or "ES384" or "ES512")) return LocalResult.Unknown;

        for (var attempt = 0; attempt < 2; attempt++)
        {
            var keys = await KeysAsync(metadata, forceRefresh: attempt > 0, ct);
            var parameters = new TokenValidationParameters
            {
                ValidIssuer = metadata.Issuer,
                ValidAudience = options.Audience ?? metadata.Issuer,
                IssuerSigningKeys = keys,
                ValidAlgorithms = [parsed.Alg],
                ValidTypes = ["at+jwt"],
                ValidateLifetime = false, // checked below against the injected clock
                RequireExpirationTime = true,
                RequireSignedTokens = true,
            };
            TokenValidationResult result;
            try { result = await Handler.ValidateTokenAsync(token, parameters); }
            catch (ArgumentException) { return LocalResult.Invalid; }
            if (result.IsValid && result.SecurityToken is JsonWebToken jwt)
            {
                if (!jwt.TryGetPayloadValue<long>("exp", out var exp)) return LocalResult.Invalid;
                long? nbf = jwt.TryGetPayloadValue<long>("nbf", out var n) ? n : null;
                long? iat = jwt.TryGetPayloadValue<long>("iat", out var i) ? i : null;
                return TokenLifetime.IsCurrent(exp, nbf, iat, clock.GetUtcNow().ToUnixTimeSeconds(), options.ClockLeeway) ? LocalResult.Valid : LocalResult.Invalid;
            }
            if (result.Exception is not SecurityTokenSignatureKeyNotFoundException) return LocalResult.Invalid;
        }
        return LocalResult.Invalid;
    }

    private async Task<IList<SecurityKey>> KeysAsync(Metadata metadata, bool forceRefresh, CancellationToken ct)
    {
        var age = clock.GetUtcNow() - _keysFetchedAt;
        if (age < (forceRefresh ? JwksRefetchAtMost : JwksFresh)) return _keys;
        await _fetch.WaitAsync(ct);
        try
        {
            age = clock.GetUtcNow() - _keysFetchedAt;
            if (age < (forceRefresh ? JwksRefetchAtMost : JwksFresh)) return _keys;
            var body = await GetJsonAsync(metadata.JwksUri!, ct);
            try { _keys = new JsonWebKeySet(body.ToJsonString()).GetSigningKeys(); }
            catch (ArgumentException e) { throw Unavailable("Authly's JWKS is malformed: " + e.Message); }
            _keysFetchedAt = clock.GetUtcNow();
            return _keys;
        }
        finally { _fetch.Release(); }
    }

    private async Task<(ProxyPrincipal, DateTimeOffset?)> IntrospectAsync(string token, Metadata metadata, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, metadata.IntrospectionEndpoint)
        {
            Content = new FormUrlEncodedContent([new("token", token), new("token_type_hint", "access_token")]),
        };
        if (options.ClientId is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(
                $"{Uri.EscapeDataString(options.ClientId)}:{Uri.EscapeDataString(options.ClientSecret!)}")));
        JsonObject body;
        try
        {
            using var response = await http.SendAsync(request, ct);
            if (!response.IsSuccessStatusCode)
                throw Unavailable($"introspection answered {(int)response.StatusCode}" +
                                  ((int)response.StatusCode == 401 ? " (set AUTHLY_PROXY_CLIENT_ID/SECRET to a confidential client)" : ""));
            body = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct)) as JsonObject ?? throw Unavailable("introspection answered no JSON object");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !ct.IsCancellationRequested)
        {
            throw Unavailable("introspection failed: " + e.Message);
        }
        if (body["active"] is not JsonValue a || !a.TryGetValue<bool>(out var active) || !active) throw ProxyErrors.BadToken();
        var sub = Str(body, "sub");
        if (string.IsNullOrEmpty(sub)) throw ProxyErrors.BadToken();
        DateTimeOffset? exp = body["exp"] is JsonValue ev && ev.TryGetValue<long>(out var seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;
        if (exp is { } e2 && e2 <= clock.GetUtcNow()) throw ProxyErrors.BadToken();
        return (new ProxyPrincipal(sub, Str(body, "username"), Str(body, "client_id"), ScopeSet.Parse(Str(body, "scope") ?? ""))
        {
            Jkt = body["cnf"] is JsonObject cnf ? Str(cnf, "jkt") : null,
        }, exp);
    }

    private async Task<Metadata> MetadataAsync(CancellationToken ct)
    {
        if (_metadata is { } m) return m;
        await _fetch.WaitAsync(ct);
        try
        {
            if (_metadata is { } again) return again;
            var doc = await GetJsonAsync(options.AuthlyUrl.TrimEnd('/') + "/.well-known/openid-configuration", ct);
            var issuer = Str(doc, "issuer") ?? throw Unavailable("Authly's discovery document has no issuer");
            var introspection = Str(doc, "introspection_endpoint") ?? throw Unavailable("Authly's discovery document has no introspection_endpoint");
            _metadata = new Metadata(issuer, Str(doc, "jwks_uri") is { } jwks ? Rebase(jwks) : null, Rebase(introspection));
            return _metadata;
        }
        finally { _fetch.Release(); }
    }

    /// <summary>
    /// An endpoint of the discovery document, reached through the configured Authly URL: the issuer
    /// is the public name (http://localhost:8000 in the standalone compose), while the proxy may
    /// only reach Authly by another one (http://authly:8000). The path stays as published.
    /// </summary>
    private string Rebase(string endpoint)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var published)) throw Unavailable($"Authly's discovery document names '{endpoint}'");
        var via = new Uri(options.AuthlyUrl);
        return new UriBuilder(published) { Scheme = via.Scheme, Host = via.Host, Port = via.Port }.Uri.ToString();
    }

    private async Task<JsonObject> GetJsonAsync(string url, CancellationToken ct)
    {
        try
        {
            using var response = await http.GetAsync(url, ct);
            if (!response.IsSuccessStatusCode) throw Unavailable($"{url} answered {(int)response.StatusCode}");
            return JsonNode.Parse(await response.Content.ReadAsStringAsync(ct)) as JsonObject ?? throw Unavailable($"{url} answered no JSON object");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !ct.IsCancellationRequested)
        {
            throw Unavailable($"{url}: {e.Message}");
        }
    }

    private AuthlyException Unavailable(string detail)
    {
        log.LogWarning("Cannot check tokens with Authly at {AuthlyUrl}: {Detail}", options.AuthlyUrl, LogText.Safe(detail));
        return ProxyErrors.Unavailable("Authorization server unavailable");
    }

    private static bool LooksLikeJwt(string token) => token.Count(c => c == '.') == 2;

    private static string? Str(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
