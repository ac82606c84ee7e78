namespace Authly.OAuth;

/// <summary>Client authentication methods (RFC 7591 §2, token_endpoint_auth_method).</summary>
public static class TokenAuthMethods
{
    public const string ClientSecretBasic = "client_secret_basic";
    public const string ClientSecretPost = "client_secret_post";
    public const string None = "none";
    /// <summary>RFC 7523 §2.2 / OIDC Core §9: a JWT signed with the client's private key.</summary>
    public const string PrivateKeyJwt = "private_key_jwt";

    public static readonly IReadOnlyList<string> All = [ClientSecretBasic, ClientSecretPost, None, PrivateKeyJwt];
}
