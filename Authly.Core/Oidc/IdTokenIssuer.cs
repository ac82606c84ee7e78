using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Authly.Configuration;
using Authly.Tokens;
using Authly.Users;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Oidc;

/// <summary>OIDC Core §2 ID tokens, signed with the same key ring as access tokens (kid in the header).</summary>
public sealed class IdTokenIssuer(SigningKeyStore keys, Issuer issuer, AuthlyOptions options, TimeProvider clock)
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public Task<string> CreateAsync(User user, string clientId, IReadOnlySet<string> scopes, string? nonce, DateTime authTime,
        string? sid, string? accessToken, CancellationToken ct) => CreateAsync(user, clientId, scopes, nonce, authTime, sid, accessToken, null, ct);

    /// <param name="amr">RFC 8176 methods of the login; with them the token carries amr and acr (OIDC Core §2). Null for none.</param>
    public async Task<string> CreateAsync(User user, string clientId, IReadOnlySet<string> scopes, string? nonce, DateTime authTime,
        string? sid, string? accessToken, IReadOnlyList<string>? amr, CancellationToken ct)
    {
        var ring = await keys.RingAsync(ct);
        var now = clock.GetUtcNow();
        var claims = UserClaims.For(user, scopes);
        claims["auth_time"] = new DateTimeOffset(authTime).ToUnixTimeSeconds();
        claims["azp"] = clientId;
        if (nonce is not null) claims["nonce"] = nonce;
        if (sid is not null) claims["sid"] = sid;
        if (amr is { Count: > 0 })
        {
            claims["amr"] = amr.ToArray();
            claims["acr"] = Mfa.AuthenticationMethods.AcrOf(amr.ToList());
        }
        if (accessToken is not null) claims["at_hash"] = AtHash(accessToken, ring.Active.Algorithm);
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer.Value,
            Audience = clientId,
            IssuedAt = now.UtcDateTime,
            Expires = (now + options.AccessTokenLifetime).UtcDateTime,
            TokenType = "JWT",
            Claims = claims,
            SigningCredentials = new SigningCredentials(ring.Active.Key, ring.Active.Algorithm),
        });
    }

    /// <summary>OIDC Core §3.1.3.6: base64url of the left half of the hash of the access token's ASCII octets.</summary>
    public static string AtHash(string accessToken, string algorithm)
    {
        byte[] hash = algorithm switch
        {
            "RS384" or "ES384" => SHA384.HashData(Encoding.ASCII.GetBytes(accessToken)),
            "RS512" or "ES512" => SHA512.HashData(Encoding.ASCII.GetBytes(accessToken)),
            _ => SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)),
        };
        return Base64Url.EncodeToString(hash.AsSpan(0, hash.Length / 2));
    }

    /// <summary>
    /// Validates an ID token of ours for RP-initiated logout: our signature and issuer; expiry is
    /// not required (OIDC RP-Initiated Logout §2 allows an expired hint). Returns (client_id, sub, sid).
    /// </summary>
    public async Task<(string ClientId, string Subject, string? Sid)?> ValidateHintAsync(string idToken, CancellationToken ct)
    {
        if (idToken.Length > 16384) return null;
        var ring = await keys.RingAsync(ct);
        var result = await Handler.ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            ValidIssuer = issuer.Value,
            ValidateAudience = false,
            ValidateLifetime = false,
            IssuerSigningKeys = ring.All.Select(k => k.Key),
            ValidAlgorithms = ring.All.Select(k => k.Algorithm).Distinct().ToArray(), // as in JwtIssuer.ValidateAsync
            ValidTypes = ["JWT"],
        });
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt) return null;
        if (!jwt.TryGetPayloadValue<string>("azp", out var azp) || string.IsNullOrEmpty(azp)) azp = jwt.Audiences.FirstOrDefault();
        if (azp is null) return null;
        jwt.TryGetPayloadValue<string>("sid", out var sid);
        return (azp, jwt.Subject, sid);
    }

    /// <summary>
    /// Validates an ID token of ours as an RFC 8693 subject token: our signature and issuer, and current by
    /// <see cref="TokenLifetime"/> (unlike a logout hint, an expired one proves nothing). Returns its audiences, sub and exp.
    /// </summary>
    public async Task<(IReadOnlyList<string> Audiences, string Subject, long Expires)?> ValidateAsync(string idToken, CancellationToken ct)
    {
        if (idToken.Length > 16384) return null;
        var ring = await keys.RingAsync(ct);
        var result = await Handler.ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            ValidIssuer = issuer.Value,
            ValidateAudience = false, // the caller checks it is the client presenting the token
            ValidateLifetime = false, // TokenLifetime below, against the injected clock
            RequireExpirationTime = true,
            IssuerSigningKeys = ring.All.Select(k => k.Key),
            ValidAlgorithms = ring.All.Select(k => k.Algorithm).Distinct().ToArray(),
            ValidTypes = ["JWT"],
        });
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt || string.IsNullOrEmpty(jwt.Subject)) return null;
        if (!jwt.TryGetPayloadValue<long>("exp", out var exp)) return null;
        jwt.TryGetPayloadValue<long>("iat", out var iat);
        if (!TokenLifetime.IsCurrent(exp, null, iat == 0 ? null : iat, clock.GetUtcNow().ToUnixTimeSeconds(), options.ClockLeeway)) return null;
        return (jwt.Audiences.ToList(), jwt.Subject, exp);
    }
}
