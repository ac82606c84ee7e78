namespace Authly.OAuth;

/// <summary>Request parameter names, as the RFCs spell them.</summary>
public static class Parameters
{
    public const string GrantType = "grant_type";
    public const string ClientId = "client_id";
    public const string ClientSecret = "client_secret";
    public const string Scope = "scope";
    public const string Username = "username";
    public const string Password = "password";
    public const string RefreshToken = "refresh_token";
    public const string Code = "code";
    public const string RedirectUri = "redirect_uri";
    public const string CodeVerifier = "code_verifier";
    public const string DeviceCode = "device_code";
    public const string Token = "token";
    public const string TokenTypeHint = "token_type_hint";
    // RFC 8693 §2.1
    public const string SubjectToken = "subject_token";
    public const string SubjectTokenType = "subject_token_type";
    public const string ActorToken = "actor_token";
    public const string ActorTokenType = "actor_token_type";
    public const string RequestedTokenType = "requested_token_type";
    public const string Audience = "audience";
    public const string Resource = "resource";
}
