namespace Authly.Proxy;

/// <summary>Who a proxied request runs for: what a validated access token says.</summary>
public sealed record ProxyPrincipal(string Subject, string? Username, string? ClientId, IReadOnlySet<string> Scopes)
{
    /// <summary>The name a response reports for the caller: the username when the token has one, else the subject.</summary>
    public string DisplayName => Username ?? Subject;

    /// <summary>RFC 9449 §6.2: the cnf.jkt introspection reported for a DPoP-bound token, else null.</summary>
    public string? Jkt { get; init; }

    public bool Has(string scope) => Scopes.Contains(scope);

    public string ScopeString => string.Join(' ', Scopes.Order(StringComparer.Ordinal));
}
