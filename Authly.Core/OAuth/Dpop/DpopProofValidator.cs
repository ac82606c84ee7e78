using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Authly.OAuth.Dpop;

/// <summary>
/// The one place a DPoP proof is checked (RFC 9449 §4.3), at the token endpoint and at every protected resource.
/// A proof that fails is invalid_dpop_proof (or use_dpop_nonce when only the server nonce is missing or stale);
/// its jti is recorded only once everything else has passed.
/// </summary>
public sealed class DpopProofValidator(IDpopReplayCache replay, DpopNonces? nonces, TimeProvider clock, TimeSpan iatWindow, TimeSpan leeway)
{
    public const string ProofType = "dpop+jwt";
    public const string HeaderName = "DPoP";
    public const string NonceHeaderName = "DPoP-Nonce";

    /// <summary>
    /// RFC 9449 §4.3 check 5: asymmetric algorithms only (never none or HS*). EdDSA is not offered: Microsoft.IdentityModel
    /// does not verify it.
    /// </summary>
    public static readonly IReadOnlyList<string> Algorithms = ["ES256", "PS256", "RS256"];

    private const int MaxProofLength = 8192;
    private const int MaxJtiLength = 256;
    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };
    // RFC 7517 §9.3 / RFC 7518 §6: members that only a private (or symmetric) key has.
    private static readonly string[] PrivateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

    /// <summary>How long a jti is remembered: as long as a proof carrying it could pass the iat check.</summary>
    public TimeSpan ReplayWindow => iatWindow + iatWindow + leeway;

    /// <param name="headers">every DPoP header of the request (§4.3 check 1: exactly one)</param>
    /// <param name="method">the request's method (htm)</param>
    /// <param name="url">the request's URL as the public issuer names it (htu; query and fragment are ignored)</param>
    /// <param name="accessToken">at a protected resource, the presented token (ath, §4.3 check 12); null at the token endpoint</param>
    /// <param name="atResource">a protected resource answers with a DPoP challenge (§7.1)</param>
    public async Task<DpopProof> ValidateAsync(IReadOnlyList<string> headers, string method, string url, string? accessToken,
        bool atResource, CancellationToken ct)
    {
        // §4.3 checks 1-2: one header holding one well-formed JWT.
        if (headers.Count == 0) throw Invalid("A DPoP proof is required", atResource);
        if (headers.Count > 1) throw Invalid("Exactly one DPoP header is allowed", atResource);
        var proof = headers[0];
        if (proof.Length is 0 or > MaxProofLength) throw Invalid("The DPoP proof is malformed", atResource);
        var parts = proof.Split('.');
        if (parts.Length != 3) throw Invalid("The DPoP proof is not a signed JWT", atResource);
        using var header = JsonObject(parts[0]) ?? throw Invalid("The DPoP proof header is malformed", atResource);
        using var payload = JsonObject(parts[1]) ?? throw Invalid("The DPoP proof payload is malformed", atResource);
        var h = header.RootElement;
        var p = payload.RootElement;

        // §4.3 checks 3-5: typ, an allowed asymmetric alg, and a jwk.
        if (Text(h, "typ") != ProofType) throw Invalid("The DPoP proof typ must be dpop+jwt", atResource);
        var alg = Text(h, "alg");
        if (alg is null || !Algorithms.Contains(alg)) throw Invalid("The DPoP proof alg is not supported", atResource);
        if (!h.TryGetProperty("jwk", out var jwkElement) || jwkElement.ValueKind != JsonValueKind.Object)
            throw Invalid("The DPoP proof has no jwk header", atResource);
        // §4.3 check 7: the key must be public.
        foreach (var member in PrivateMembers)
            if (jwkElement.TryGetProperty(member, out _)) throw Invalid("The DPoP proof jwk must not contain a private key", atResource);
        var jwk = PublicKey(jwkElement, alg) ?? throw Invalid("The DPoP proof jwk does not fit its alg", atResource);

        // §4.3 check 6: the signature, with that key and that algorithm only.
        var parameters = new TokenValidationParameters
        {
            IssuerSigningKey = jwk,
            ValidAlgorithms = [alg],
            ValidTypes = [ProofType],
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = false, // iat below, against the injected clock
            RequireExpirationTime = false,
            RequireSignedTokens = true,
            TryAllIssuerSigningKeys = true,
        };
        TokenValidationResult result;
        try { result = await Handler.ValidateTokenAsync(proof, parameters); }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException) { throw Invalid("The DPoP proof signature is invalid", atResource); }
        if (!result.IsValid) throw Invalid("The DPoP proof signature is invalid", atResource);

        // §4.3 check 3: the claims.
        var jti = Text(p, "jti");
        if (string.IsNullOrEmpty(jti) || jti.Length > MaxJtiLength) throw Invalid("The DPoP proof needs a jti", atResource);
        // §4.3 check 8: htm is the request's method (methods are case-sensitive, RFC 9110 §9.1).
        if (Text(p, "htm") != method) throw Invalid("The DPoP proof htm does not match the request method", atResource);
        // §4.3 check 9: htu is this URL, ignoring query and fragment (normalized per RFC 3986 §6.2.2-6.2.3).
        var htu = Text(p, "htu");
        if (htu is null || NormalizeUrl(htu) is not { } presented || presented != NormalizeUrl(url))
            throw Invalid("The DPoP proof htu does not match the request URL", atResource);
        // §4.3 check 11: iat within the window either way, plus the clock leeway for a client ahead of us.
        if (!p.TryGetProperty("iat", out var iatElement) || iatElement.ValueKind != JsonValueKind.Number || !iatElement.TryGetInt64(out var iat))
            throw Invalid("The DPoP proof needs an iat", atResource);
        var now = clock.GetUtcNow().ToUnixTimeSeconds();
        if (iat < now - (long)iatWindow.TotalSeconds || iat > now + (long)(iatWindow + leeway).TotalSeconds)
            throw Invalid("The DPoP proof iat is outside the accepted window", atResource);
        // §4.3 check 12 / §7: at a resource, ath is the base64url SHA-256 of the access token.
        if (accessToken is not null)
        {
            var ath = Text(p, "ath");
            var expected = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));
            if (ath is null || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(ath), Encoding.ASCII.GetBytes(expected)))
                throw Invalid("The DPoP proof ath does not match the access token", atResource);
        }
        // §4.3 check 10 / §8-9: the server's nonce, when required.
        if (nonces is { Required: true } && !nonces.IsValid(Text(p, "nonce")))
            throw new OAuthException(OAuthErrors.UseDpopNonce, "The DPoP proof must carry the server's nonce")
                { DpopNonce = nonces.Current(), DpopChallenge = atResource };

        var jkt = Base64Url.EncodeToString(jwk.ComputeJwkThumbprint());
        // §11.1: single use, across every node; last, so only an otherwise valid proof spends its jti.
        if (!await replay.TryUseAsync(jkt, jti, ReplayWindow, ct)) throw Invalid("The DPoP proof was already used", atResource);
        return new DpopProof(jkt, jti, iat);
    }

    /// <summary>scheme://host:port/path of an absolute http(s) URL, or null (RFC 9449 §4.3 check 9).</summary>
    public static string? NormalizeUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.UserInfo.Length > 0) return null;
        return $"{u.Scheme}://{u.IdnHost.ToLowerInvariant()}:{u.Port}{u.AbsolutePath}";
    }

    private static JsonWebKey? PublicKey(JsonElement jwk, string alg)
    {
        JsonWebKey key;
        try { key = new JsonWebKey(jwk.GetRawText()); }
        catch (ArgumentException) { return null; }
        switch (alg)
        {
            case "ES256":
                if (key.Kty != "EC" || key.Crv != "P-256" || string.IsNullOrEmpty(key.X) || string.IsNullOrEmpty(key.Y)) return null;
                return key;
            default: // RS256, PS256: at least 2048 bits (RFC 7518 §3.3)
                if (key.Kty != "RSA" || string.IsNullOrEmpty(key.N) || string.IsNullOrEmpty(key.E)) return null;
                try { return Base64UrlEncoder.DecodeBytes(key.N).Length * 8 >= 2048 ? key : null; }
                catch (FormatException) { return null; }
        }
    }

    private static JsonDocument? JsonObject(string part)
    {
        try
        {
            var doc = JsonDocument.Parse(Base64Url.DecodeFromChars(part));
            if (doc.RootElement.ValueKind == JsonValueKind.Object) return doc;
            doc.Dispose();
            return null;
        }
        catch (Exception e) when (e is FormatException or JsonException) { return null; }
    }

    private static string? Text(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static OAuthException Invalid(string description, bool atResource) =>
        new(OAuthErrors.InvalidDpopProof, description) { DpopChallenge = atResource };
}
