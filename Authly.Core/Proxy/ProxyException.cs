namespace Authly.Proxy;

/// <summary>
/// A proxied request refused or failed: the HTTP status, the message put in <c>{"error": …}</c>, and
/// for 401/403 the RFC 6750 §3.1 error code for <c>WWW-Authenticate</c>. Messages are safe to show the caller.
/// </summary>
public sealed class ProxyException(int status, string message, string? bearerError = null) : Exception(message)
{
    public int Status { get; } = status;
    /// <summary>invalid_request, invalid_token or insufficient_scope (RFC 6750 §3.1), or null.</summary>
    public string? BearerError { get; } = bearerError;
    /// <summary>The scope that would have been enough, for 403 insufficient_scope.</summary>
    public string? RequiredScope { get; init; }

    public const string MissingAuthorization = "Missing or invalid Authorization header";
    public const string InvalidToken = "Invalid or expired token";

    public static ProxyException MissingAuth() => new(401, MissingAuthorization, "invalid_request");
    public static ProxyException BadToken() => new(401, InvalidToken, "invalid_token");
    public static ProxyException Scope(string scope, string message) => new(403, message, "insufficient_scope") { RequiredScope = scope };
    public static ProxyException Forbidden(string message) => new(403, message, "insufficient_scope");
    public static ProxyException BadRequest(string message) => new(400, message);
    /// <summary>Authly cannot be asked about the token (JWKS or introspection unreachable): fail closed.</summary>
    public static ProxyException Unavailable(string message) => new(503, message);
}
