namespace Authly.OAuth;

/// <summary>RFC 8693 §3 token type identifiers.</summary>
public static class TokenTypes
{
    public const string AccessToken = "urn:ietf:params:oauth:token-type:access_token";
    public const string RefreshToken = "urn:ietf:params:oauth:token-type:refresh_token";
    public const string IdToken = "urn:ietf:params:oauth:token-type:id_token";
    public const string Jwt = "urn:ietf:params:oauth:token-type:jwt";
}
