namespace Authly.Tokens;

/// <summary>
/// The one lifetime rule for JWTs Authly minted (access tokens, checked by <see cref="JwtIssuer"/>
/// and by the proxies' <see cref="Proxy.ProxyTokenValidator"/>), with the clock leeway of
/// AUTHLY_CLOCK_LEEWAY_SECONDS.
/// <list type="bullet">
/// <item>RFC 7519 §4.1.5 (nbf) and §4.1.6 (iat): a token whose nbf or iat lies up to the leeway in
/// the future is accepted. Another node minted it from its own clock, and a node running ahead by
/// less than the leeway must not have its tokens refused elsewhere (issue 12 finding 7).</item>
/// <item>RFC 7519 §4.1.4 (exp) allows "some small leeway", and Authly takes none: a token is
/// inactive the moment its exp passes. A leeway on exp would only lengthen a stolen token's life,
/// and the revocation list forgets a revoked jti once its exp has passed, so an exp leeway would
/// reopen a revoked token for the length of the leeway. A node running ahead already stamps a
/// later exp, and one running behind an earlier one: both err by at most the skew.</item>
/// </list>
/// </summary>
public static class TokenLifetime
{
    public const int DefaultLeewaySeconds = 60;
    public const int MaxLeewaySeconds = 300;

    /// <summary>Whether a token with these claims (seconds since the epoch) is current at <paramref name="now"/>.</summary>
    public static bool IsCurrent(long exp, long? nbf, long? iat, long now, TimeSpan leeway)
    {
        var ahead = now + (long)leeway.TotalSeconds;
        return exp > now && !(nbf > ahead) && !(iat > ahead);
    }
}
