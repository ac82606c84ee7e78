namespace Authly.OAuth;

/// <summary>
/// A token-endpoint request after HTTP parsing: the form parameters (each present at most once)
/// and the client credentials from the Authorization header, if any.
/// </summary>
public sealed record TokenRequest(IReadOnlyDictionary<string, string> Form, ClientCredentials? BasicCredentials, string? RemoteIp)
{
    public string? this[string name] => Form.TryGetValue(name, out var v) && v.Length > 0 ? v : null;
    public string? GrantType => this[Parameters.GrantType];
    public string? Scope => Form.TryGetValue(Parameters.Scope, out var v) ? v : null;

    // Issue 17, RFC 9449 (DPoP).
    /// <summary>Every DPoP header of the request (RFC 9449 §4.3 check 1 wants exactly one when present).</summary>
    public IReadOnlyList<string> DpopProofs { get; init; } = [];
    /// <summary>The endpoint's URL as the public issuer names it, for the proof's htu.</summary>
    public string? RequestUrl { get; init; }
    /// <summary>Set by <see cref="Grants.GrantEngine"/> once the proof passed: what the issued tokens are bound to.</summary>
    public Dpop.DpopBinding? Dpop { get; init; }

    public string Required(string name) =>
        this[name] ?? throw OAuthException.InvalidRequest($"The {name} parameter is required");
}

/// <summary>Client id and secret as the client presented them.</summary>
public sealed record ClientCredentials(string ClientId, string Secret);
