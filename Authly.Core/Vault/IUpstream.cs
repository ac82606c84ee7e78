namespace Authly.Vault;

/// <summary>
/// What the vault asks of a provider. Two implementations: <see cref="OidcUpstream"/> speaks
/// standard OAuth/OpenID Connect over HTTP to any provider; <see cref="LocalUpstream"/> is this
/// Authly, called in process (no round trip to its own public URL, which a server cannot always reach).
/// Failures are <see cref="AuthlyException"/>s (UPSTREAM_INVALID_GRANT, UPSTREAM_UNAVAILABLE, …).
/// </summary>
public interface IUpstream
{
    /// <summary>The URL that starts an authorization code + PKCE request (RFC 6749 §4.1.1, RFC 7636 §4.3).</summary>
    Task<string> AuthorizationUrlAsync(VaultProvider provider, string redirectUri, string scope, string state, string codeChallenge, string nonce,
        CancellationToken ct);

    /// <summary>
    /// RFC 9207: the iss value an authorization response from this provider must carry, and
    /// whether the provider promised to send it (then a response without it is refused).
    /// </summary>
    Task<(string Issuer, bool Required)> AuthorizationResponseIssuerAsync(VaultProvider provider, CancellationToken ct);

    /// <summary>RFC 6749 §4.1.3 with the PKCE verifier.</summary>
    Task<UpstreamTokenResponse> ExchangeCodeAsync(VaultProvider provider, string code, string redirectUri, string codeVerifier, CancellationToken ct);

    /// <summary>Who the tokens belong to at the provider: the verified ID token's sub (nonce checked), or null when there is none.</summary>
    Task<string?> SubjectAsync(VaultProvider provider, UpstreamTokenResponse tokens, string nonce, CancellationToken ct);

    /// <summary>RFC 6749 §6, optionally narrowing scope and naming a resource (RFC 8707 §2.2).</summary>
    Task<UpstreamTokenResponse> RefreshAsync(VaultProvider provider, string refreshToken, string? scope, string? resource, CancellationToken ct);

    /// <summary>RFC 7009. Returns false when the provider offers no revocation endpoint.</summary>
    Task<bool> RevokeAsync(VaultProvider provider, string token, string tokenTypeHint, CancellationToken ct);

    /// <summary>Is this access token valid at the provider? <paramref name="method"/>: null (auto), "introspection" or "jwks".</summary>
    Task<TokenValidation> ValidateAsync(VaultProvider provider, string token, string? method, CancellationToken ct);

    /// <summary>The user's sessions at the provider; null when the provider offers no way to list them.</summary>
    Task<IReadOnlyList<UpstreamSession>?> ListSessionsAsync(VaultProvider provider, string subject, CancellationToken ct);

    /// <summary>Ends one session at the provider; null when unsupported, false when there is no such session.</summary>
    Task<bool?> EndSessionAsync(VaultProvider provider, string subject, string sid, CancellationToken ct);

    /// <summary>Readiness: null when the provider looks usable, else what is wrong (no secrets in it).</summary>
    Task<string?> CheckAsync(VaultProvider provider, CancellationToken ct);
}
