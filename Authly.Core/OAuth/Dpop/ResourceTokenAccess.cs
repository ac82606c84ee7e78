using System.Security.Cryptography;
using System.Text;
using Authly.Tokens;

namespace Authly.OAuth.Dpop;

/// <summary>An access token as a request to a protected resource presented it.</summary>
/// <param name="Scheme">Bearer (RFC 6750 §2.1) or DPoP (RFC 9449 §7.1)</param>
/// <param name="Proofs">the request's DPoP headers</param>
/// <param name="Url">the request's URL as the public issuer names it</param>
public sealed record PresentedToken(string Scheme, string Token, IReadOnlyList<string> Proofs, string Method, string Url)
{
    public const string BearerScheme = "Bearer";
    public const string DpopScheme = "DPoP";
}

/// <summary>
/// The one rule for an access token at Authly's own protected resources (userinfo): a bearer token must not be
/// DPoP-bound; a DPoP token must come with a valid proof (with ath) by the key it is bound to (RFC 9449 §7.1).
/// Every failure is invalid_token or invalid_dpop_proof, with the DPoP challenge where DPoP is involved.
/// </summary>
public sealed class ResourceTokenAccess(TokenIntrospection introspection, DpopProofValidator proofs)
{
    public async Task<AccessTokenClaims> AuthenticateAsync(PresentedToken presented, CancellationToken ct)
    {
        var dpop = presented.Scheme == PresentedToken.DpopScheme;
        var claims = await introspection.ValidateAsync(presented.Token, ct)
                     ?? throw new OAuthException(OAuthErrors.InvalidToken, "The access token is invalid or expired") { DpopChallenge = dpop };
        if (!dpop)
        {
            // §7.1: a bound token presented as a bearer token is refused, and the challenge names the scheme it needs.
            if (claims.Jkt is not null)
                throw new OAuthException(OAuthErrors.InvalidToken, "This access token is DPoP-bound; present it with the DPoP scheme and a proof",
                    "DPoP-bound token presented as Bearer") { DpopChallenge = true };
            return claims;
        }
        var proof = await proofs.ValidateAsync(presented.Proofs, presented.Method, presented.Url, presented.Token, atResource: true, ct);
        // §7.1 / §4.3 check 13: the proof's key is the one the token is bound to.
        if (claims.Jkt is null)
            throw new OAuthException(OAuthErrors.InvalidToken, "The access token is not DPoP-bound", "bearer token presented with the DPoP scheme") { DpopChallenge = true };
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(claims.Jkt), Encoding.ASCII.GetBytes(proof.Jkt)))
            throw new OAuthException(OAuthErrors.InvalidDpopProof, "The DPoP proof is not signed by the key the access token is bound to") { DpopChallenge = true };
        return claims;
    }
}
