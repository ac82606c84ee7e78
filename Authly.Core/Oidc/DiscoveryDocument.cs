using Authly.OAuth;

namespace Authly.Oidc;

/// <summary>
/// RFC 8414 / OpenID Connect Discovery 1.0 metadata. Lists only endpoints and features that
/// exist: each later feature adds its entries here.
/// </summary>
public static class DiscoveryDocument
{
    public sealed record Features(IReadOnlyCollection<string> GrantTypes, IReadOnlyCollection<string> Scopes, string SigningAlgorithm,
        bool HasAuthorizeEndpoint = false, bool HasUserInfo = false, bool HasDeviceAuthorization = false, bool HasEndSession = false);

    public static Dictionary<string, object> Build(string issuer, Features f)
    {
        var doc = new Dictionary<string, object>
        {
            ["issuer"] = issuer,
            ["token_endpoint"] = issuer + "/api/v1/oauth/token",
            ["jwks_uri"] = issuer + "/.well-known/jwks.json",
            ["revocation_endpoint"] = issuer + "/api/v1/oauth/revoke",
            ["introspection_endpoint"] = issuer + "/api/v1/oauth/introspect",
            ["grant_types_supported"] = f.GrantTypes.Order(StringComparer.Ordinal).ToArray(),
            ["response_types_supported"] = f.HasAuthorizeEndpoint ? new[] { "code" } : Array.Empty<string>(),
            ["code_challenge_methods_supported"] = new[] { "S256" },
            ["token_endpoint_auth_methods_supported"] = TokenAuthMethods.All.ToArray(),
            ["revocation_endpoint_auth_methods_supported"] = TokenAuthMethods.All.ToArray(),
            ["introspection_endpoint_auth_methods_supported"] = new[] { TokenAuthMethods.ClientSecretBasic, TokenAuthMethods.ClientSecretPost },
            ["scopes_supported"] = f.Scopes.Order(StringComparer.Ordinal).ToArray(),
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { f.SigningAlgorithm },
            ["claims_supported"] = new[]
            {
                "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "sid", "name", "given_name", "family_name",
                "middle_name", "nickname", "preferred_username", "profile", "picture", "website", "gender", "birthdate", "zoneinfo",
                "locale", "updated_at", "email", "email_verified", "address", "phone_number", "phone_number_verified",
            },
            ["authorization_response_iss_parameter_supported"] = true,
            // RFC 9449 §5.1: the token endpoint and userinfo accept DPoP proofs with these algorithms.
            ["dpop_signing_alg_values_supported"] = OAuth.Dpop.DpopProofValidator.Algorithms.ToArray(),
        };
        if (f.HasAuthorizeEndpoint)
        {
            doc["authorization_endpoint"] = issuer + "/api/v1/oauth/authorize";
            doc["response_modes_supported"] = new[] { "query", "form_post" };
            doc["prompt_values_supported"] = new[] { "none", "login", "consent", "select_account" };
            doc["request_parameter_supported"] = false;
            doc["request_uri_parameter_supported"] = false;
        }
        if (f.HasUserInfo) doc["userinfo_endpoint"] = issuer + "/oidc/userinfo";
        if (f.HasDeviceAuthorization) doc["device_authorization_endpoint"] = issuer + "/api/v1/oauth/device_authorization";
        if (f.HasEndSession)
        {
            doc["end_session_endpoint"] = issuer + "/oidc/logout";
            doc["check_session_iframe"] = issuer + "/oidc/session/iframe";
            doc["frontchannel_logout_supported"] = true;
            doc["frontchannel_logout_session_supported"] = true;
        }
        return doc;
    }
}
