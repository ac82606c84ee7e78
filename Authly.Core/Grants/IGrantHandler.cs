using Authly.Clients;
using Authly.OAuth;

namespace Authly.Grants;

/// <summary>One grant type: its validation and issuance, straight-line, in one file.</summary>
public interface IGrantHandler
{
    string GrantType { get; }

    /// <summary>
    /// The grant is only for a client that authenticates (RFC 6749 §4.4.2). A request without one — no client,
    /// or a public client, which has no credentials — is invalid_client, checked before unauthorized_client.
    /// </summary>
    bool RequiresClientAuthentication => false;

    /// <param name="client">the authenticated client, or null when the request named none</param>
    Task<TokenResponse> HandleAsync(TokenRequest request, Client? client, CancellationToken ct);
}
