namespace Authly.Vault;

/// <summary>
/// The vault API's one error type: an HTTP status, a public <see cref="Detail"/> and a stable
/// <see cref="ErrorCode"/>, written as {"detail","error_code"} by the API error filter.
/// <see cref="Private"/> is for the log only and never leaves the server.
/// </summary>
public sealed class VaultException(int status, string detail, string errorCode, string? privateDetail = null, string? field = null)
    : Exception(detail)
{
    public int Status { get; } = status;
    public string Detail { get; } = detail;
    public string ErrorCode { get; } = errorCode;
    public string? Private { get; } = privateDetail;
    public string? Field { get; } = field;

    public static VaultException BadRequest(string detail, string? field = null) => new(400, detail, "INVALID_REQUEST", field: field);
    public static VaultException NotFound(string what) => new(404, $"{what} not found", "NOT_FOUND");
    public static VaultException Unauthenticated() => new(401, "Not authenticated", "NOT_AUTHENTICATED");
    public static VaultException InsufficientScope(string scope) => new(403, $"Insufficient scope: requires {scope}", "INSUFFICIENT_SCOPE");
    public static VaultException Forbidden(string detail) => new(403, detail, "FORBIDDEN");
    public static VaultException Conflict(string detail, string code) => new(409, detail, code);

    public static VaultException NotConfigured(string? reason) =>
        new(503, reason ?? "The token vault is not configured", "VAULT_NOT_CONFIGURED");

    /// <summary>A row that does not decrypt: wrong or missing key, or a ciphertext moved or altered.</summary>
    public static VaultException Unreadable(string privateDetail) =>
        new(500, "The stored token cannot be decrypted (unknown key, or the row was altered)", "VAULT_ENTRY_UNREADABLE", privateDetail);

    public static VaultException UpstreamInvalidGrant(string provider, string? privateDetail = null) =>
        new(400, $"The provider '{provider}' rejected the stored token (invalid_grant): it was revoked or expired there. Connect again to store a new one.",
            "UPSTREAM_INVALID_GRANT", privateDetail);

    public static VaultException UpstreamUnavailable(string provider, string privateDetail) =>
        new(502, $"The provider '{provider}' could not be reached or answered with an error", "UPSTREAM_UNAVAILABLE", privateDetail);

    public static VaultException UpstreamRejected(string provider, string error, string privateDetail) => error switch
    {
        "invalid_scope" => new(400, $"The provider '{provider}' refused the requested scope", "UPSTREAM_INVALID_SCOPE", privateDetail),
        "invalid_target" => new(400, $"The provider '{provider}' refused the requested resource (audience)", "UPSTREAM_INVALID_TARGET", privateDetail),
        "invalid_client" or "unauthorized_client" =>
            new(502, $"The provider '{provider}' rejected Authly's client credentials; an administrator must fix the provider settings",
                "UPSTREAM_CLIENT_REJECTED", privateDetail),
        _ => new(502, $"The provider '{provider}' answered with an error ({Safe(error)})", "UPSTREAM_ERROR", privateDetail),
    };

    // An error code from another server is shown only if it looks like one (RFC 6749 §5.2 charset, short).
    private static string Safe(string error) =>
        error.Length <= 40 && error.All(c => c is >= 'a' and <= 'z' or '_') ? error : "unexpected error";
}
