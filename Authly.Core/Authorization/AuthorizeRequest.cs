namespace Authly.Authorization;

/// <summary>An authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) after the client and redirect URI were validated.</summary>
public sealed record AuthorizeRequest(
    Clients.Client Client,
    string RedirectUri,
    string? State,
    string ResponseMode,
    IReadOnlySet<string> Scopes,
    string CodeChallenge,
    string? Nonce,
    IReadOnlySet<string> Prompt,
    int? MaxAge,
    string? LoginHint,
    IReadOnlyDictionary<string, string> Raw)
{
    public bool IsOpenId => Scopes.Contains("openid");
}
