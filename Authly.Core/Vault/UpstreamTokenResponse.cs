namespace Authly.Vault;

/// <summary>A provider's successful token response (RFC 6749 §5.1). Held in memory only; sealed before it is stored.</summary>
public sealed record UpstreamTokenResponse(string AccessToken, string? RefreshToken, int? ExpiresIn, string? Scope, string? IdToken, string TokenType)
{
    // Redacted: a record's generated ToString would print the tokens into any log that formats it.
    public override string ToString() => $"UpstreamTokenResponse {{ TokenType = {TokenType}, ExpiresIn = {ExpiresIn}, Scope = {Scope} }}";
}
