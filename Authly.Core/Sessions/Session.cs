namespace Authly.Sessions;

public sealed record Session
{
    public string Sid { get; init; } = "";
    public Guid UserId { get; init; }
    public DateTime AuthTime { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime LastSeenAt { get; init; }
    public DateTime IdleExpiresAt { get; init; }
    public DateTime AbsoluteExpiresAt { get; init; }
    public DateTime? EndedAt { get; init; }
    public string? Ip { get; init; }
    public string? UserAgent { get; init; }
    /// <summary>RFC 8176 methods of the login (Mfa/AuthenticationMethods), and its acr level.</summary>
    public string[] Amr { get; init; } = ["pwd"];
    public string Acr { get; init; } = Mfa.AuthenticationMethods.AcrPassword;
}
