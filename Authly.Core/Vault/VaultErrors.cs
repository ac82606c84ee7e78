namespace Authly.Vault;

/// <summary>
/// The vault's failures, as <see cref="AuthlyException"/>s: an HTTP status, a public detail and a stable
/// error code, written as {"detail","error_code","field"?} by the API error filter.
/// <see cref="AuthlyException.Private"/> is for the log only and never leaves the server.
/// </summary>
public static class VaultErrors
{
    public const string InvalidGrantCode = "UPSTREAM_INVALID_GRANT";
    public const string UnreadableCode = "VAULT_ENTRY_UNREADABLE";

    /// <summary>The audit record's outcome for a failure: its code (every vault error has one; a bare 400 is INVALID_REQUEST).</summary>
    public static string Outcome(AuthlyException e) => e.Code ?? "INVALID_REQUEST";

    public static AuthlyException BadRequest(string detail, string? field = null) => new(400, detail, "INVALID_REQUEST") { Field = field };
    public static AuthlyException NotFound(string what) => new(404, $"{what} not found", "NOT_FOUND");
    public static AuthlyException Unauthenticated() => new(401, "Not authenticated", "NOT_AUTHENTICATED");
    public static AuthlyException InsufficientScope(string scope) => new(403, $"Insufficient scope: requires {scope}", "INSUFFICIENT_SCOPE");
    public static AuthlyException Forbidden(string detail) => new(403, detail, "FORBIDDEN");
    public static AuthlyException Conflict(string detail, string code) => new(409, detail, code);

    public static AuthlyException NotConfigured(string? reason) =>
        new(503, reason ?? "The token vault is not configured", "VAULT_NOT_CONFIGURED");

    /// <summary>A row that does not decrypt: wrong or missing key, or a ciphertext moved or altered.</summary>
    public static AuthlyException Unreadable(string privateDetail) =>
        new(500, "The stored token cannot be decrypted (unknown key, or the row was altered)", UnreadableCode) { Private = privateDetail };

    public static AuthlyException UpstreamInvalidGrant(string provider, string? privateDetail = null) =>
        new(400, $"The provider '{provider}' rejected the stored token (invalid_grant): it was revoked or expired there. Connect again to store a new one.",
            InvalidGrantCode) { Private = privateDetail };

    public const string TokenClientMismatchCode = "TOKEN_CLIENT_MISMATCH";

    /// <summary>Store time: the provider says the refresh token belongs to another client than the vault's, so no mint could use it.</summary>
    public static AuthlyException TokenOfAnotherClient(string provider, bool vaultHasNoClient) =>
        new(400, $"The provider '{provider}' issued this refresh token to another client than Authly's vault client " +
                 (vaultHasNoClient ? "(the vault has no client there yet)" : "there") +
                 ", so it would refuse it at every mint (RFC 6749 §6: a refresh token is bound to its client). " +
                 "Connect through the vault (GET /api/v1/vault/connect/{provider}) or store a token obtained with the vault's client.",
            TokenClientMismatchCode) { Field = "refresh_token" };

    /// <summary>
    /// The token-exchange rules refused an Authly token for an entry (<see cref="AuthlyTokenDelegation"/>): the OAuth error,
    /// said in the vault's API shape. Its description is public by design; its detail is for the log.
    /// </summary>
    public static AuthlyException ExchangeRefused(OAuth.OAuthException e) => e.Error switch
    {
        OAuth.OAuthErrors.UnauthorizedClient => new(403, "The client has no token exchange policy, so it cannot get Authly tokens", "TOKEN_EXCHANGE_NOT_ALLOWED") { Private = e.Detail },
        OAuth.OAuthErrors.InvalidScope => new(400, e.Description, "SCOPE_NOT_GRANTED") { Field = "scope", Private = e.Detail },
        OAuth.OAuthErrors.InvalidTarget => new(400, e.Description, "INVALID_TARGET") { Field = "audience", Private = e.Detail },
        _ => new(409, e.Description, "ENTRY_TOKEN_INVALID") { Private = e.Detail },
    };

    public static AuthlyException UpstreamUnavailable(string provider, string privateDetail) =>
        new(502, $"The provider '{provider}' could not be reached or answered with an error", "UPSTREAM_UNAVAILABLE") { Private = privateDetail };

    public static AuthlyException UpstreamRejected(string provider, string error, string privateDetail) => error switch
    {
        "invalid_scope" => new(400, $"The provider '{provider}' refused the requested scope", "UPSTREAM_INVALID_SCOPE") { Private = privateDetail },
        "invalid_target" => new(400, $"The provider '{provider}' refused the requested resource (audience)", "UPSTREAM_INVALID_TARGET") { Private = privateDetail },
        "invalid_client" or "unauthorized_client" =>
            new(502, $"The provider '{provider}' rejected Authly's client credentials; an administrator must fix the provider settings",
                "UPSTREAM_CLIENT_REJECTED") { Private = privateDetail },
        _ => new(502, $"The provider '{provider}' answered with an error ({Safe(error)})", "UPSTREAM_ERROR") { Private = privateDetail },
    };

    // An error code from another server is shown only if it looks like one (RFC 6749 §5.2 charset, short).
    private static string Safe(string error) =>
        error.Length <= 40 && error.All(c => c is >= 'a' and <= 'z' or '_') ? error : "unexpected error";
}
