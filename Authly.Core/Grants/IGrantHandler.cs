using Authly.Clients;
using Authly.OAuth;

namespace Authly.Grants;

/// <summary>One grant type: its validation and issuance, straight-line, in one file.</summary>
public interface IGrantHandler
{
    string GrantType { get; }
    /// <param name="client">the authenticated client, or null when the request named none</param>
    Task<TokenResponse> HandleAsync(TokenRequest request, Client? client, CancellationToken ct);
}
