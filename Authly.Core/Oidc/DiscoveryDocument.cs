using Authly.OAuth;

namespace Authly.Oidc;

/// <summary>
/// RFC 8414 / OpenID Connect Discovery 1.0 metadata. Lists only endpoints and features that
/// exist: each later feature adds its entries here.
/// </summary>
public static class DiscoveryDocument
{
    public sealed record Features(IReadOnlyCollection<string> GrantTypes, IReadOnlyCollection<string> Scopes, string SigningAlgorithm,
        bool HasAuthorizeEndpoint = false, bool HasUserInfo = false, bool HasDeviceAuthorization = false, bool HasEndSession = false,
        bool HasRegistration = false, bool RequirePushedAuthorizationRequests = false, bool Fapi2 = false);

    /// <summary>What endpoints that authenticate clients accept: under the FAPI 2.0 profile, private_key_jwt only.</summary>
    private static string[] AuthMethods(Features f, bool confidentialOnly) =>
        f.Fapi2 ? [TokenAuthMethods.PrivateKeyJwt]
            : TokenAuthMethods.All.Where(m => !confidentialOnly || m != TokenAuthMethods.None).ToArray();

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
            ["token_endpoint_auth_methods_supported"] = AuthMethods(f, confidentialOnly: false),
            ["revocation_endpoint_auth_methods_supported"] = AuthMethods(f, confidentialOnly: false),
            ["introspection_endpoint_auth_methods_supported"] = AuthMethods(f, confidentialOnly: true),
            // RFC 8414 §2: the algorithms private_key_jwt assertions may be signed with (ClientAssertion.Algorithms).
            ["token_endpoint_auth_signing_alg_values_supported"] = Clients.ClientAssertion.Algorithms.ToArray(),
            ["revocation_endpoint_auth_signing_alg_values_supported"] = Clients.ClientAssertion.Algorithms.ToArray(),
            ["introspection_endpoint_auth_signing_alg_values_supported"] = Clients.ClientAssertion.Algorithms.ToArray(),
            ["scopes_supported"] = f.Scopes.Order(StringComparer.Ordinal).ToArray(),
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = new[] { f.SigningAlgorithm },
            ["claims_supported"] = new[]
            {
                "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "sid", "amr", "acr", "name", "given_name", "family_name",
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
            doc["acr_values_supported"] = Mfa.AuthenticationMethods.AcrValues.ToArray();
            // RFC 9126 §5.
            doc["pushed_authorization_request_endpoint"] = issuer + "/api/v1/oauth/par";
            doc["require_pushed_authorization_requests"] = f.RequirePushedAuthorizationRequests;
        }
        // RFC 8414 §2: only when AUTHLY_REGISTRATION is not closed (RFC 7591 §3).
        if (f.HasRegistration) doc["registration_endpoint"] = issuer + "/api/v1/oauth/register";
        if (f.HasUserInfo) doc["userinfo_endpoint"] = issuer + "/oidc/userinfo";
        if (f.HasDeviceAuthorization) doc["device_authorization_endpoint"] = issuer + "/api/v1/oauth/device_authorization";
        if (f.HasEndSession)
        {
            doc["end_session_endpoint"] = issuer + "/oidc/logout";
            doc["check_session_iframe"] = issuer + "/oidc/session/iframe";
            doc["frontchannel_logout_supported"] = true;
            doc["frontchannel_logout_session_supported"] = true;
            // OIDC Back-Channel Logout 1.0 §2.1 (issue 18): logout tokens always carry sid. HS256 mode publishes no key
            // a relying party could verify them with, so it does not offer them.
            if (f.SigningAlgorithm != "HS256")
            {
                doc["backchannel_logout_supported"] = true;
                doc["backchannel_logout_session_supported"] = true;
            }
        }
        return doc;
    }
}
