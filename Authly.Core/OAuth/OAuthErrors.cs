namespace Authly.OAuth;

/// <summary>Error codes from RFC 6749 §5.2, RFC 6750 §3.1 and RFC 8628 §3.5.</summary>
public static class OAuthErrors
{
    public const string InvalidRequest = "invalid_request";
    public const string InvalidClient = "invalid_client";
    public const string InvalidGrant = "invalid_grant";
    public const string UnauthorizedClient = "unauthorized_client";
    public const string UnsupportedGrantType = "unsupported_grant_type";
    public const string InvalidScope = "invalid_scope";
    public const string AccessDenied = "access_denied";
    public const string ServerError = "server_error";
    /// <summary>RFC 6749 §4.1.2.1/§5.2 (as extended by common practice for the token endpoint): a dependency is down, retry later.</summary>
    public const string TemporarilyUnavailable = "temporarily_unavailable";
    public const string InvalidToken = "invalid_token";
    public const string InsufficientScope = "insufficient_scope";
    public const string UnsupportedTokenType = "unsupported_token_type";
    public const string AuthorizationPending = "authorization_pending";
    public const string SlowDown = "slow_down";
    public const string ExpiredToken = "expired_token";
    /// <summary>RFC 6749 §4.1.2.1: the authorization endpoint supports only response_type=code.</summary>
    public const string UnsupportedResponseType = "unsupported_response_type";
    /// <summary>OIDC Core §3.1.2.6: answers to prompt=none when the user would have to act.</summary>
    public const string LoginRequired = "login_required";
    public const string InteractionRequired = "interaction_required";
    public const string ConsentRequired = "consent_required";
    /// <summary>OIDC Core §3.1.2.6: request objects (request, request_uri) are not supported.</summary>
    public const string RequestNotSupported = "request_not_supported";
    /// <summary>RFC 8693 §2.2.2: the audience or resource asked for is not one the client may have.</summary>
    public const string InvalidTarget = "invalid_target";
    /// <summary>RFC 7591 §3.2.2: registration errors.</summary>
    public const string InvalidRedirectUri = "invalid_redirect_uri";
    public const string InvalidClientMetadata = "invalid_client_metadata";
    public const string InvalidSoftwareStatement = "invalid_software_statement";
    /// <summary>RFC 9449 §5/§7.1: the DPoP proof is missing where required, malformed, or fails a §4.3 check.</summary>
    public const string InvalidDpopProof = "invalid_dpop_proof";
    /// <summary>RFC 9449 §8/§9: the proof must carry the server's current nonce, sent in the DPoP-Nonce header.</summary>
    public const string UseDpopNonce = "use_dpop_nonce";
}
