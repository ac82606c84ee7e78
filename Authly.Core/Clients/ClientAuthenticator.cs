using Authly.OAuth;
using Authly.Security;

namespace Authly.Clients;

/// <summary>
/// RFC 6749 §2.3 client authentication. A client must use the method it registered
/// (client_secret_basic, client_secret_post or none), and only one method per request.
/// </summary>
public sealed class ClientAuthenticator(ClientStore clients)
{
    /// <summary>
    /// The authenticated client, or null when the request names no client at all.
    /// Throws invalid_client (or invalid_request for two methods at once) otherwise.
    /// </summary>
    public async Task<Client?> AuthenticateAsync(IReadOnlyDictionary<string, string> form, ClientCredentials? basic, CancellationToken ct)
    {
        form.TryGetValue(Parameters.ClientId, out var formId);
        form.TryGetValue(Parameters.ClientSecret, out var formSecret);
        if (basic is not null && (formSecret is not null || (formId is not null && formId != basic.ClientId)))
            // RFC 6749 §2.3: the client MUST NOT use more than one authentication method in each request.
            throw OAuthException.InvalidRequest("Use one client authentication method per request");

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
        if (method != TokenAuthMethods.None && !OpaqueToken.Matches(secret!, client.ClientSecretHash))
            throw OAuthException.InvalidClient("wrong client secret");
        return client;
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "…";
}
