using Authly.Configuration;
using Authly.OAuth;
using Authly.Security;

namespace Authly.Clients;

/// <summary>
/// RFC 6749 §2.3 client authentication. A client must use the method it registered
/// (client_secret_basic, client_secret_post, private_key_jwt or none), and only one method per request.
/// private_key_jwt (RFC 7523 §2.2) is checked by <see cref="ClientAssertion"/>; under the FAPI 2.0 profile
/// (<see cref="Fapi2Profile"/>) it is the only method accepted.
/// </summary>
public sealed class ClientAuthenticator(ClientStore clients, ClientAssertion assertions, AuthlyOptions options)
{
    public const string ClientAssertionTypeParameter = "client_assertion_type";
    public const string ClientAssertionParameter = "client_assertion";

    /// <summary>
    /// The authenticated client, or null when the request names no client at all.
    /// Throws invalid_client (or invalid_request for two methods at once) otherwise.
    /// </summary>
    public async Task<Client?> AuthenticateAsync(IReadOnlyDictionary<string, string> form, ClientCredentials? basic, CancellationToken ct)
    {
        form.TryGetValue(Parameters.ClientId, out var formId);
        form.TryGetValue(Parameters.ClientSecret, out var formSecret);
        form.TryGetValue(ClientAssertionTypeParameter, out var assertionType);
        form.TryGetValue(ClientAssertionParameter, out var assertion);
        var hasAssertion = assertionType is not null || assertion is not null;
        if ((basic is not null && (formSecret is not null || hasAssertion || (formId is not null && formId != basic.ClientId)))
            || (formSecret is not null && hasAssertion))
            // RFC 6749 §2.3: the client MUST NOT use more than one authentication method in each request.
            throw OAuthException.InvalidRequest("Use one client authentication method per request");
        if (hasAssertion) return await AuthenticateByAssertionAsync(formId, assertionType, assertion, ct);

        string method;
        string? clientId, secret;
        if (basic is not null) (method, clientId, secret) = (TokenAuthMethods.ClientSecretBasic, basic.ClientId, basic.Secret);
        else if (formSecret is not null) (method, clientId, secret) = (TokenAuthMethods.ClientSecretPost, formId, formSecret);
        else (method, clientId, secret) = (TokenAuthMethods.None, formId, null);

        if (string.IsNullOrEmpty(clientId))
        {
            if (secret is not null) throw OAuthException.InvalidClient("client_secret without client_id");
            return null;
        }

        // An id that is not RFC 6749 Appendix A.1 VSCHAR names no client: FindActiveAsync answers null without a query.
        var client = await clients.FindActiveAsync(clientId, ct);
        if (client is null)
        {
            // Spend a hash comparison anyway so unknown ids answer as fast as wrong secrets.
            if (secret is not null) _ = OpaqueToken.Matches(secret, new byte[32]);
            throw OAuthException.InvalidClient($"unknown or inactive client '{Truncate(clientId)}'");
        }
        if (client.TokenEndpointAuthMethod != method)
            throw OAuthException.InvalidClient($"client registered for {client.TokenEndpointAuthMethod} used {method}");
        if (Fapi2Profile.AppliesTo(options, client))
            throw OAuthException.InvalidClient($"client {client.ClientId} used {method}; the FAPI 2.0 profile accepts private_key_jwt only");
        if (method != TokenAuthMethods.None && !OpaqueToken.Matches(secret!, client.ClientSecretHash))
            throw OAuthException.InvalidClient("wrong client secret");
        return client;
    }

    /// <summary>RFC 7521 §4.2 / RFC 7523 §2.2: client_assertion_type and client_assertion, client_id optional but equal to sub.</summary>
    private async Task<Client> AuthenticateByAssertionAsync(string? formId, string? assertionType, string? assertion, CancellationToken ct)
    {
        if (assertionType is null || string.IsNullOrEmpty(assertion))
            throw OAuthException.InvalidRequest("client_assertion_type and client_assertion go together");
        if (assertionType != ClientAssertion.JwtBearerType)
            throw OAuthException.InvalidClient($"unsupported client_assertion_type '{Truncate(assertionType)}'");
        var clientId = ClientAssertion.ClaimedClientId(assertion) ?? throw OAuthException.InvalidClient("client_assertion is not a JWT with a sub");
        if (formId is not null && formId != clientId) throw OAuthException.InvalidClient("client_id differs from the assertion's sub");
        var client = await clients.FindActiveAsync(clientId, ct) ?? throw OAuthException.InvalidClient($"unknown or inactive client '{Truncate(clientId)}'");
        if (client.TokenEndpointAuthMethod != TokenAuthMethods.PrivateKeyJwt)
            throw OAuthException.InvalidClient($"client registered for {client.TokenEndpointAuthMethod} used {TokenAuthMethods.PrivateKeyJwt}");
        await assertions.ValidateAsync(client, assertion, ct);
        return client;
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "…";
}
