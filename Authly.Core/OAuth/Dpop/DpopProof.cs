namespace Authly.OAuth.Dpop;

/// <summary>A DPoP proof that passed every RFC 9449 §4.3 check: the JWK SHA-256 thumbprint (RFC 7638) of its key, and its jti.</summary>
public sealed record DpopProof(string Jkt, string Jti, long IssuedAt);

/// <summary>
/// What a token request's proof binds (RFC 9449 §5): the access token always, and the refresh token when the client is
/// public (a confidential client's refresh token is already bound to its authentication, §5 last paragraph).
/// </summary>
public sealed record DpopBinding(string Jkt, bool BindsRefreshToken);
