using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Tests.Infrastructure;

/// <summary>
/// A client's DPoP key pair and the proofs it signs (RFC 9449 §4.2), built with Microsoft.IdentityModel as a real client
/// library would. <see cref="Proof"/> takes the parts a test wants wrong.
/// </summary>
public sealed class DpopKey : IDisposable
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly AsymmetricAlgorithm _key;
    private readonly SecurityKey _signingKey;
    private readonly Dictionary<string, object> _publicJwk;
    private readonly Dictionary<string, object> _privateMembers;

    public string Algorithm { get; }
    /// <summary>RFC 7638 SHA-256 thumbprint of the public key, base64url (the cnf.jkt a bound token carries).</summary>
    public string Thumbprint { get; }

    private DpopKey(string alg)
    {
        Algorithm = alg;
        if (alg == "ES256")
        {
            var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var p = ec.ExportParameters(includePrivateParameters: true);
            _key = ec;
            _signingKey = new ECDsaSecurityKey(ec);
            _publicJwk = new() { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = B64(p.Q.X!), ["y"] = B64(p.Q.Y!) };
            _privateMembers = new() { ["d"] = B64(p.D!) };
            Thumbprint = B64(JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(new ECParameters { Curve = p.Curve, Q = p.Q })))
                .ComputeJwkThumbprint());
        }
        else
        {
            var rsa = RSA.Create(2048);
            var p = rsa.ExportParameters(includePrivateParameters: true);
            _key = rsa;
            _signingKey = new RsaSecurityKey(rsa);
            _publicJwk = new() { ["kty"] = "RSA", ["n"] = B64(p.Modulus!), ["e"] = B64(p.Exponent!) };
            _privateMembers = new() { ["d"] = B64(p.D!), ["p"] = B64(p.P!), ["q"] = B64(p.Q!) };
            Thumbprint = B64(JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(new RSAParameters { Modulus = p.Modulus, Exponent = p.Exponent }))
                .ComputeJwkThumbprint());
        }
    }

    public static DpopKey Es256() => new("ES256");
    public static DpopKey Rsa(string alg = "PS256") => new(alg);

    /// <summary>A proof for <paramref name="method"/> <paramref name="url"/>; with <paramref name="accessToken"/>, its ath.</summary>
    public string Proof(string method, string url, string? accessToken = null, string? nonce = null, DateTimeOffset? iat = null,
        string? jti = null, string typ = "dpop+jwt", bool withPrivateKey = false, bool withoutAth = false)
    {
        var claims = new Dictionary<string, object>
        {
            ["jti"] = jti ?? Guid.NewGuid().ToString("N"),
            ["htm"] = method,
            ["htu"] = url,
            ["iat"] = (iat ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds(),
        };
        if (accessToken is not null && !withoutAth) claims["ath"] = B64(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));
        if (nonce is not null) claims["nonce"] = nonce;
        var jwk = new Dictionary<string, object>(_publicJwk);
        if (withPrivateKey) foreach (var (k, v) in _privateMembers) jwk[k] = v;
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            TokenType = typ,
            Claims = claims,
            AdditionalHeaderClaims = new Dictionary<string, object> { ["jwk"] = jwk },
            SigningCredentials = new SigningCredentials(_signingKey, Algorithm),
        });
    }

    /// <summary>An unsigned proof (alg none) or one with another header alg and any signature: never to be accepted.</summary>
    public string ProofWithAlg(string alg, string method, string url)
    {
        var header = $$"""{"typ":"dpop+jwt","alg":"{{alg}}","jwk":{{System.Text.Json.JsonSerializer.Serialize(_publicJwk)}}}""";
        var payload = $$"""{"jti":"{{Guid.NewGuid():N}}","htm":"{{method}}","htu":"{{url}}","iat":{{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}}}""";
        var input = B64(Encoding.UTF8.GetBytes(header)) + "." + B64(Encoding.UTF8.GetBytes(payload));
        var signature = alg == "none" ? "" : B64(HMACSHA256.HashData(Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(_publicJwk)), Encoding.ASCII.GetBytes(input)));
        return input + "." + signature;
    }

    private static string B64(byte[] bytes) => Base64Url.EncodeToString(bytes);

    public void Dispose() => _key.Dispose();
}
