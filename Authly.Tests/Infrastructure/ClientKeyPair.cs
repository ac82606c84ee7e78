using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Tests.Infrastructure;

/// <summary>
/// A private_key_jwt client's key pair: the public half as a JWK (what the client registers) and client
/// assertions (RFC 7523 §2.2) signed with the private half by Microsoft.IdentityModel's JsonWebTokenHandler.
/// </summary>
public sealed class ClientKeyPair : IDisposable
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly AsymmetricAlgorithm _key;

    public string Kid { get; }
    public string Algorithm { get; }
    public SecurityKey SigningKey { get; }
    /// <summary>The public key as a JWK (RFC 7517), with kid.</summary>
    public JsonObject PublicJwk { get; }

    private ClientKeyPair(AsymmetricAlgorithm key, string algorithm, string kid)
    {
        (_key, Algorithm, Kid) = (key, algorithm, kid);
        if (key is ECDsa ec)
        {
            SigningKey = new ECDsaSecurityKey(ec) { KeyId = kid };
            var p = ec.ExportParameters(false);
            PublicJwk = new JsonObject { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = B64(p.Q.X!), ["y"] = B64(p.Q.Y!), ["kid"] = kid, ["use"] = "sig" };
        }
        else
        {
            var rsa = (RSA)key;
            SigningKey = new RsaSecurityKey(rsa) { KeyId = kid };
            var p = rsa.ExportParameters(false);
            PublicJwk = new JsonObject { ["kty"] = "RSA", ["n"] = B64(p.Modulus!), ["e"] = B64(p.Exponent!), ["kid"] = kid, ["use"] = "sig" };
        }
    }

    public static ClientKeyPair Es256(string? kid = null) => new(ECDsa.Create(ECCurve.NamedCurves.nistP256), SecurityAlgorithms.EcdsaSha256, kid ?? NewKid());
    public static ClientKeyPair Ps256(string? kid = null) => new(RSA.Create(2048), SecurityAlgorithms.RsaSsaPssSha256, kid ?? NewKid());
    public static ClientKeyPair Rs256(string? kid = null) => new(RSA.Create(2048), SecurityAlgorithms.RsaSha256, kid ?? NewKid());

    private static string NewKid() => "k-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>A JWK Set of the given public keys, as the registration's jwks.</summary>
    public static JsonObject Jwks(params ClientKeyPair[] pairs) =>
        new() { ["keys"] = new JsonArray(pairs.Select(p => (JsonNode)p.PublicJwk.DeepClone()).ToArray()) };

    /// <summary>A client assertion: iss = sub = <paramref name="clientId"/>, the audience, a fresh jti, exp one minute ahead unless told.</summary>
    public string Assertion(string clientId, string audience, TimeSpan? expiresIn = null, string? jti = null, bool withExp = true, string? sub = null)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object>
        {
            ["sub"] = sub ?? clientId,
            ["jti"] = jti ?? Guid.NewGuid().ToString("N"),
            ["iat"] = EpochTime.GetIntDate(now),
        };
        if (withExp) claims["exp"] = EpochTime.GetIntDate(now + (expiresIn ?? TimeSpan.FromMinutes(1)));
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = clientId, Audience = audience, Claims = claims,
            SigningCredentials = new SigningCredentials(SigningKey, Algorithm),
        });
    }

    /// <summary>An assertion with the same claims, HMAC-signed with this key's public JWK text as the secret (the alg-confusion attack).</summary>
    public string HmacWithPublicKeyAsSecret(string clientId, string audience)
    {
        var secret = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(PublicJwk.ToJsonString().PadRight(64, ' '))) { KeyId = Kid };
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = clientId, Audience = audience,
            Claims = new Dictionary<string, object>
            {
                ["sub"] = clientId, ["jti"] = Guid.NewGuid().ToString("N"), ["exp"] = EpochTime.GetIntDate(DateTime.UtcNow.AddMinutes(1)),
            },
            SigningCredentials = new SigningCredentials(secret, SecurityAlgorithms.HmacSha256),
        });
    }

    /// <summary>An unsigned assertion (alg none, RFC 7519 §6), built by hand: no library makes one.</summary>
    public static string Unsigned(string clientId, string audience)
    {
        var header = new JsonObject { ["alg"] = "none", ["typ"] = "JWT" };
        var payload = new JsonObject
        {
            ["iss"] = clientId, ["sub"] = clientId, ["aud"] = audience, ["jti"] = Guid.NewGuid().ToString("N"),
            ["exp"] = EpochTime.GetIntDate(DateTime.UtcNow.AddMinutes(1)),
        };
        return B64(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + B64(Encoding.UTF8.GetBytes(payload.ToJsonString())) + ".";
    }

    /// <summary>The form fields of private_key_jwt (RFC 7523 §2.2).</summary>
    public static (string Key, string Value)[] Fields(string assertion) =>
        [("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ("client_assertion", assertion)];

    private static string B64(byte[] bytes) => Base64Url.EncodeToString(bytes);

    public void Dispose() => _key.Dispose();
}
