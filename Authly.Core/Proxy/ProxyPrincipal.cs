namespace Authly.Proxy;

/// <summary>Who a proxied request runs for: what a validated access token says.</summary>
public sealed record ProxyPrincipal(string Subject, string? Username, string? ClientId, IReadOnlySet<string> Scopes)
{
    /// <summary>The name a response reports for the caller: the username when the token has one, else the subject.</summary>
    public string DisplayName => Username ?? Subject;

    public bool Has(string scope) => Scopes.Contains(scope);

    public string ScopeString => string.Join(' ', Scopes.Order(StringComparer.Ordinal));
}
