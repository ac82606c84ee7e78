namespace Authly.Tokens;

/// <summary>The claims of a validated access token (RFC 9068 §2.2).</summary>
public sealed record AccessTokenClaims(string Issuer, string Subject, string Audience, string ClientId, string Scope,
    string? Username, string Jti, long IssuedAt, long Expires, long? NotBefore)
{
    public IReadOnlySet<string> Scopes => Authly.Scopes.ScopeSet.Parse(Scope);
    /// <summary>RFC 9449 §6.1: the cnf.jkt of a DPoP-bound token (the thumbprint of the key it is bound to), else null.</summary>
    public string? Jkt { get; init; }
    public Guid? UserId => Username is not null && Guid.TryParse(Subject, out var id) ? id : null;
    /// <summary>RFC 8693 §4.1: who acts for the subject (a token from a delegation exchange), or null.</summary>
    public ActorClaim? Act { get; init; }
}
