using System.Collections.Concurrent;
using Authly.Configuration;
using Authly.Security;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Tokens;

/// <summary>
/// Creates access tokens in the RFC 9068 JWT profile (typ at+jwt) with the active key, and
/// validates our own. Access tokens are not stored: revocation goes through <see cref="RevocationList"/>.
/// </summary>
public sealed class JwtIssuer(SigningKeyStore keys, Issuer issuer, AuthlyOptions options, TimeProvider clock)
{
    public const string AccessTokenType = "at+jwt";
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    /// <summary>At most this many validated tokens are remembered (about 2 KB each).</summary>
    private const int MaxValidated = 10_000;

    // Resource servers introspect the same token on every call they receive, and the signature
    // check (RSA verify plus JsonWebTokenHandler's parsing) is most of that request's cost. A token
    // is immutable, so once its exact string has passed the checks below against a key ring, only
    // its lifetime can change the answer while that ring is current: hits re-check exp and nbf
    // against the clock, and revocation stays with the caller, per request. Only valid tokens are
    // kept, so garbage cannot fill this; a ring reload (rotation, or every few minutes) makes every
    // entry validate once more.
    private readonly ConcurrentDictionary<string, ValidatedToken> _validated = new(StringComparer.Ordinal);

    private sealed record ValidatedToken(AccessTokenClaims Claims, SigningKeyStore.KeyRing Ring);

    public string Audience => options.AccessTokenAudience ?? issuer.Value;

    public sealed record Issued(string Token, string Jti, DateTimeOffset Expires);

    /// <param name="audience">RFC 8693 token exchange: the audience asked for (else <see cref="Audience"/>)</param>
    /// <param name="act">RFC 8693 §4.1: the actor chain of a delegation</param>
    /// <param name="notAfter">RFC 8693: an exchanged token lives no longer than its subject token</param>
    public Task<Issued> CreateAccessTokenAsync(string subject, string clientId, string scope, string? username, CancellationToken ct,
        string? audience = null, ActorClaim? act = null, DateTimeOffset? notAfter = null) =>
        CreateAccessTokenAsync(subject, clientId, scope, username, jkt: null, ct, audience, act, notAfter);

    /// <param name="jkt">RFC 9449 §6.1: the thumbprint of the DPoP key the token is bound to (cnf.jkt), or null for a bearer token</param>
    /// <param name="resources">RFC 8707: the resources asked for (already allowed); the token's aud is the one (a string) or
    /// the several (an array) of them, and <paramref name="audience"/> (or <see cref="Audience"/>) when there are none</param>
    public async Task<Issued> CreateAccessTokenAsync(string subject, string clientId, string scope, string? username, string? jkt, CancellationToken ct,
        string? audience = null, ActorClaim? act = null, DateTimeOffset? notAfter = null, IReadOnlyList<string>? resources = null)
    {
        var ring = await keys.RingAsync(ct);
        var now = clock.GetUtcNow();
        var expires = now + options.AccessTokenLifetime;
        if (notAfter < expires) expires = notAfter.Value;
        var jti = OpaqueToken.New(16);
        var claims = new Dictionary<string, object>(8)
        {
            [JwtRegisteredClaimNames.Sub] = subject,
            [JwtRegisteredClaimNames.Jti] = jti,
            ["client_id"] = clientId,
            ["scope"] = scope,
        };
        if (username is not null) claims["username"] = username;
        if (act is not null) claims["act"] = act.ToClaim();
        if (jkt is not null) claims["cnf"] = new Dictionary<string, object> { ["jkt"] = jkt };
        if (resources is { Count: 1 }) audience = resources[0];
        else if (resources is { Count: > 1 }) claims[JwtRegisteredClaimNames.Aud] = resources.ToArray();
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer.Value,
            Audience = resources is { Count: > 1 } ? null : audience ?? Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            TokenType = AccessTokenType,
            Claims = claims,
            SigningCredentials = new SigningCredentials(ring.Active.Key, ring.Active.Algorithm),
        };
        return new Issued(Handler.CreateToken(descriptor), jti, expires);
    }

    /// <summary>
    /// Validates one of our access tokens: signature by a key in the ring with that key's own
    /// algorithm (no alg:none, no HS/RS confusion), typ at+jwt, iss, aud, and exp, nbf and iat
    /// against our clock by <see cref="TokenLifetime"/>. Returns null for anything else; never throws for bad input.
    /// Revocation is checked by the caller.
    /// </summary>
    public async Task<AccessTokenClaims?> ValidateAsync(string token, CancellationToken ct)
    {
        if (token.Length > 8192) return null;
        var ring = await keys.RingAsync(ct);
        if (_validated.TryGetValue(token, out var known) && ReferenceEquals(known.Ring, ring))
        {
            if (IsCurrent(known.Claims, clock.GetUtcNow().ToUnixTimeSeconds())) return known.Claims;
            _validated.TryRemove(token, out _);
            return null;
        }
        if (!LooksLikeJwt(token)) return null;
        var result = await CheckSignatureAsync(token, ring);
        if (result?.IsValid != true && UnknownKid(token, ring) is { } kid && await keys.RingWithUnknownKidAsync(kid, ct) is { } reloaded)
        {
            // Signed with a key another node made after our ring was loaded.
            ring = reloaded;
            result = await CheckSignatureAsync(token, ring);
        }
        if (result is null) return null;
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt) return null;

        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        if (!jwt.TryGetPayloadValue<long>("exp", out var exp)) return null;
        long? nbf = jwt.TryGetPayloadValue<long>("nbf", out var n) ? n : null;
        if (!jwt.TryGetPayloadValue<string>("jti", out var jti) || string.IsNullOrEmpty(jti)) return null;
        if (!jwt.TryGetPayloadValue<string>("client_id", out var clientId)) return null;
        jwt.TryGetPayloadValue<string>("scope", out var scope);
        jwt.TryGetPayloadValue<string>("username", out var username);
        jwt.TryGetPayloadValue<long>("iat", out var iat); // 0 when absent: IsCurrent then skips it
        var claims = new AccessTokenClaims(jwt.Issuer, jwt.Subject, Audience, clientId, scope ?? "", username, jti, iat, exp, nbf)
        {
            Act = jwt.TryGetClaim("act", out var act) ? ActorClaim.Parse(act.Value) : null,
            Jkt = jwt.TryGetPayloadValue<System.Text.Json.JsonElement>("cnf", out var cnf) && cnf.ValueKind == System.Text.Json.JsonValueKind.Object
                  && cnf.TryGetProperty("jkt", out var jkt) && jkt.ValueKind == System.Text.Json.JsonValueKind.String ? jkt.GetString() : null,
        };
        if (!IsCurrent(claims, now)) return null;
        Remember(token, claims, ring, now);
        return claims;
    }

    private async Task<TokenValidationResult?> CheckSignatureAsync(string token, SigningKeyStore.KeyRing ring)
    {
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = issuer.Value,
            ValidAudience = Audience,
            IssuerSigningKeys = ring.All.Select(k => k.Key),
            // The algorithms of the keys in the ring: a retired RS256 key keeps verifying its tokens
            // after a switch to ES256. The key is chosen by kid and an RSA or EC key cannot verify any
            // other algorithm, so this opens no confusion; HS256 mode has only its one key.
            ValidAlgorithms = ring.All.Select(k => k.Algorithm).Distinct().ToArray(),
            ValidTypes = [AccessTokenType],
            // Lifetime is checked by TokenLifetime against the injected clock: no leeway on exp (an
            // expired token introspects as inactive the moment it expires), AUTHLY_CLOCK_LEEWAY_SECONDS on nbf/iat.
            ValidateLifetime = false,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            TryAllIssuerSigningKeys = false,
        };
        try { return await Handler.ValidateTokenAsync(token, parameters); }
        catch (Exception) { return null; }
    }

    /// <summary>The token header's kid when our ring has no such key (a token we cannot parse: null).</summary>
    private static string? UnknownKid(string token, SigningKeyStore.KeyRing ring)
    {
        try
        {
            var kid = new JsonWebToken(token).Kid;
            return string.IsNullOrEmpty(kid) || kid.Length > 128 || ring.All.Any(k => k.Kid == kid) ? null : kid;
        }
        catch (Exception) { return null; }
    }

    private bool IsCurrent(AccessTokenClaims claims, long now) =>
        TokenLifetime.IsCurrent(claims.Expires, claims.NotBefore, claims.IssuedAt == 0 ? null : claims.IssuedAt, now, options.ClockLeeway);

    private void Remember(string token, AccessTokenClaims claims, SigningKeyStore.KeyRing ring, long now)
    {
        if (_validated.Count >= MaxValidated)
        {
            foreach (var (key, entry) in _validated)
                if (entry.Claims.Expires <= now || !ReferenceEquals(entry.Ring, ring)) _validated.TryRemove(key, out _);
            // Still full of live tokens: start over rather than track recency on the hot path.
            if (_validated.Count >= MaxValidated) _validated.Clear();
        }
        _validated[token] = new ValidatedToken(claims, ring);
    }

    private static bool LooksLikeJwt(string token)
    {
        var dots = 0;
        foreach (var c in token)
        {
            if (c == '.') dots++;
            else if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) return false;
        }
        return dots == 2;
    }
}
