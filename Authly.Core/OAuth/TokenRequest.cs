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

    public string Required(string name) =>
        this[name] ?? throw OAuthException.InvalidRequest($"The {name} parameter is required");
}

/// <summary>Client id and secret as the client presented them.</summary>
public sealed record ClientCredentials(string ClientId, string Secret);
