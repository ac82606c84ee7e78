namespace Authly.Scopes;

/// <summary>The scope names OpenID Connect gives a meaning to, as OIDC Core spells them.</summary>
public static class OidcScopes
{
    /// <summary>OIDC Core §3.1.2.1: makes the request an OpenID Connect one; the code and device grants then return an ID token.</summary>
    public const string OpenId = "openid";
    /// <summary>OIDC Core §11: asks for a refresh token that works while the user is away.</summary>
    public const string OfflineAccess = "offline_access";
}
