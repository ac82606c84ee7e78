namespace Authly.OAuth;

/// <summary>
/// The one error type for protocol failures. <see cref="Description"/> is sent to the caller;
/// <see cref="Detail"/> is for the log only and never leaves the server.
/// </summary>
public sealed class OAuthException(string error, string description, string? detail = null, int? retryAfterSeconds = null)
    : Exception($"{error}: {description}")
{
    public string Error { get; } = error;
    public string Description { get; } = description;
    public string? Detail { get; } = detail;
    /// <summary>Set when a dependency is down (503, temporarily_unavailable); throttling is <see cref="ThrottledException"/>.</summary>
    public int? RetryAfterSeconds { get; } = retryAfterSeconds;
    /// <summary>RFC 9449 §8/§9: a fresh server nonce for the DPoP-Nonce header (use_dpop_nonce).</summary>
    public string? DpopNonce { get; init; }
    /// <summary>RFC 9449 §7.1: a protected resource answers with a <c>WWW-Authenticate: DPoP</c> challenge rather than Bearer.</summary>
    public bool DpopChallenge { get; init; }

    public static OAuthException InvalidRequest(string description, string? detail = null) =>
        new(OAuthErrors.InvalidRequest, description, detail);
    public static OAuthException InvalidClient(string? detail = null) =>
        new(OAuthErrors.InvalidClient, "Client authentication failed", detail);
    public static OAuthException InvalidGrant(string description, string? detail = null) =>
        new(OAuthErrors.InvalidGrant, description, detail);
    public static OAuthException UnauthorizedClient(string description, string? detail = null) =>
        new(OAuthErrors.UnauthorizedClient, description, detail);
    public static OAuthException UnsupportedGrantType(string? detail = null) =>
        new(OAuthErrors.UnsupportedGrantType, "The grant type is not supported", detail);
    public static OAuthException InvalidScope(string description, string? detail = null) =>
        new(OAuthErrors.InvalidScope, description, detail);
    public static OAuthException AccessDenied(string description, string? detail = null) =>
        new(OAuthErrors.AccessDenied, description, detail);
    public static OAuthException InvalidToken(string description, string? detail = null) =>
        new(OAuthErrors.InvalidToken, description, detail);
    public static OAuthException InsufficientScope(string description, string? detail = null) =>
        new(OAuthErrors.InsufficientScope, description, detail);
    public static OAuthException TemporarilyUnavailable(int retryAfterSeconds, string? detail = null) =>
        new(OAuthErrors.TemporarilyUnavailable, "The service is temporarily unavailable; try again shortly", detail, Math.Max(1, retryAfterSeconds));
}
