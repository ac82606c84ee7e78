namespace Authly.OAuth;

public static class GrantTypes
{
    public const string AuthorizationCode = "authorization_code";
    public const string ClientCredentials = "client_credentials";
    public const string RefreshToken = "refresh_token";
    public const string Password = "password";
    public const string DeviceCode = "urn:ietf:params:oauth:grant-type:device_code";
    /// <summary>RFC 8693 §2.1.</summary>
    public const string TokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange";
}
