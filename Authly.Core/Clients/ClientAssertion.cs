using Authly.Configuration;
using Authly.OAuth;
using Authly.Tokens;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Clients;

/// <summary>
/// private_key_jwt (RFC 7523 §2.2 and §3, OIDC Core §9): the checks of a client assertion, in one place for
/// every endpoint that authenticates clients (token, PAR, introspection, revocation), through
/// <see cref="ClientAuthenticator"/>. Signed with one of the client's keys (<see cref="ClientKeys"/>) by an
/// allowed asymmetric algorithm (never none, never HS*: a public key used as an HMAC secret proves nothing);
/// iss = sub = client_id; aud names this server (the issuer, the token endpoint or the PAR endpoint); exp
/// present, not passed and at most <see cref="MaxLifetime"/> ahead; jti present and never seen before
/// (<see cref="ClientAssertionJtis"/>). Every failure is invalid_client; the reason goes to the log only.
/// </summary>
public sealed class ClientAssertion(ClientKeys keys, ClientAssertionJtis jtis, Issuer issuer, AuthlyOptions options, TimeProvider clock)
{
    /// <summary>RFC 7521 §4.2 / RFC 7523 §2.2: the client_assertion_type of a JWT assertion.</summary>
    public const string JwtBearerType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    public static readonly IReadOnlyList<string> Algorithms = [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.EcdsaSha256];
    /// <summary>How far ahead an assertion's exp may lie: an assertion is made for one request, not kept.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(5);
    public const int MaxLength = 8192;

    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false };

    /// <summary>The audiences an assertion may name: this server's issuer and the endpoints that take assertions at the token step.</summary>
    public IReadOnlyList<string> Audiences => [issuer.Value, issuer.Value + "/api/v1/oauth/token", issuer.Value + "/api/v1/oauth/par"];

    /// <summary>The assertion's sub, unverified: which client it claims to be (null when it is not a readable JWT).</summary>
    public static string? ClaimedClientId(string assertion)
    {
        if (assertion.Length > MaxLength) return null;
        try { return new JsonWebToken(assertion).Subject is { Length: > 0 } sub ? sub : null; }
        catch (Exception e) when (e is ArgumentException or SecurityTokenMalformedException) { return null; }
    }

    /// <exception cref="OAuthException">invalid_client, with the reason as private detail</exception>
    public async Task ValidateAsync(Client client, string assertion, CancellationToken ct)
    {
        if (assertion.Length > MaxLength) throw Refused(client, "longer than 8192 characters");
        JsonWebToken unverified;
        try { unverified = new JsonWebToken(assertion); }
        catch (Exception e) when (e is ArgumentException or SecurityTokenMalformedException) { throw Refused(client, "not a JWT"); }
        // Before any key is looked at: none and HS* are refused by name, whatever keys the client has.
        if (!Algorithms.Contains(unverified.Alg)) throw Refused(client, $"alg '{Short(unverified.Alg)}' is not allowed");

        // RFC 7517 §4.5: a kid the cached set lacks may be a key the client added since: ClientKeys fetches again (bounded).
        var result = await CheckSignatureAsync(client, assertion, await keys.ForAsync(client, string.IsNullOrEmpty(unverified.Kid) ? null : unverified.Kid, ct));
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
            throw Refused(client, $"signature, iss or aud check failed ({result.Exception?.GetType().Name})");

        if (jwt.Subject != client.ClientId) throw Refused(client, "sub is not the client_id");
        var now = clock.GetUtcNow();
        if (!jwt.TryGetPayloadValue<long>("exp", out var expSeconds)) throw Refused(client, "no exp");
        var exp = DateTimeOffset.FromUnixTimeSeconds(expSeconds);
        if (exp <= now) throw Refused(client, "expired");
        if (exp > now + MaxLifetime + options.ClockLeeway) throw Refused(client, $"exp is more than {MaxLifetime.TotalMinutes:0} minutes ahead");
        if (jwt.TryGetPayloadValue<long>("nbf", out var nbf) && DateTimeOffset.FromUnixTimeSeconds(nbf) > now + options.ClockLeeway)
            throw Refused(client, "not yet valid (nbf)");
        if (jwt.TryGetPayloadValue<long>("iat", out var iat) && DateTimeOffset.FromUnixTimeSeconds(iat) > now + options.ClockLeeway)
            throw Refused(client, "issued in the future (iat)");
        if (!jwt.TryGetPayloadValue<string>("jti", out var jti) || string.IsNullOrEmpty(jti) || jti.Length > 256)
            throw Refused(client, "no jti (or one longer than 256 characters)");
        if (!await jtis.TryUseAsync(client.ClientId, jti, exp, ct)) throw Refused(client, "jti already used (a replayed assertion)");
    }

    private async Task<TokenValidationResult> CheckSignatureAsync(Client client, string assertion, IReadOnlyList<JsonWebKey> clientKeys)
    {
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = client.ClientId,
            ValidAudiences = Audiences,
            IssuerSigningKeys = clientKeys,
            ValidAlgorithms = Algorithms,
            // exp/nbf/iat are checked by ValidateAsync against the injected clock.
            ValidateLifetime = false,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            // Only this client's keys are candidates: a kid of another client's key is simply not found.
            TryAllIssuerSigningKeys = true,
        };
        try { return await Handler.ValidateTokenAsync(assertion, parameters); }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException)
        {
            return new TokenValidationResult { IsValid = false, Exception = e };
        }
    }

    private static OAuthException Refused(Client client, string reason) =>
        OAuthException.InvalidClient($"client assertion of {client.ClientId} refused: {reason}");

    private static string Short(string? s) => s is null ? "" : s.Length <= 16 ? s : s[..16] + "…";
}
