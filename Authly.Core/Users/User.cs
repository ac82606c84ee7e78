namespace Authly.Users;

/// <summary>A users row. Column names map by Dapper's underscore matching.</summary>
public sealed record User
{
    public Guid Id { get; init; }
    public string Username { get; init; } = "";
    public string Email { get; init; } = "";
    public string PasswordHash { get; init; } = "";
    public bool IsActive { get; init; }
    public bool IsVerified { get; init; }
    public bool IsAdmin { get; init; }
    public bool RequiresPasswordChange { get; init; }
    /// <summary>Issue 16: the account must pass a second factor (see Mfa/SecondFactorPolicy).</summary>
    public bool MfaRequired { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public DateTime? LastLogin { get; init; }
    public string? GivenName { get; init; }
    public string? FamilyName { get; init; }
    public string? MiddleName { get; init; }
    public string? Nickname { get; init; }
    public string? PreferredUsername { get; init; }
    public string? Profile { get; init; }
    public string? Picture { get; init; }
    public string? Website { get; init; }
    public string? Gender { get; init; }
    public string? Birthdate { get; init; }
    public string? Zoneinfo { get; init; }
    public string? Locale { get; init; }
    public string? PhoneNumber { get; init; }
    public bool? PhoneNumberVerified { get; init; }
    /// <summary>The OIDC address claim as JSON text.</summary>
    public string? Address { get; init; }
}
