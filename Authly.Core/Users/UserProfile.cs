using System.Text.Json;
using System.Text.Json.Serialization;

namespace Authly.Users;

/// <summary>Fields a caller may set on a user (API.md names). Null means "leave as is".</summary>
public sealed record UserProfile
{
    [JsonPropertyName("username")] public string? Username { get; init; }
    [JsonPropertyName("email")] public string? Email { get; init; }
    [JsonPropertyName("password")] public string? Password { get; init; }
    [JsonPropertyName("is_active")] public bool? IsActive { get; init; }
    [JsonPropertyName("is_verified")] public bool? IsVerified { get; init; }
    [JsonPropertyName("is_admin")] public bool? IsAdmin { get; init; }
    [JsonPropertyName("requires_password_change")] public bool? RequiresPasswordChange { get; init; }
    [JsonPropertyName("given_name")] public string? GivenName { get; init; }
    [JsonPropertyName("family_name")] public string? FamilyName { get; init; }
    [JsonPropertyName("middle_name")] public string? MiddleName { get; init; }
    [JsonPropertyName("nickname")] public string? Nickname { get; init; }
    [JsonPropertyName("preferred_username")] public string? PreferredUsername { get; init; }
    [JsonPropertyName("profile")] public string? Profile { get; init; }
    [JsonPropertyName("picture")] public string? Picture { get; init; }
    [JsonPropertyName("website")] public string? Website { get; init; }
    [JsonPropertyName("gender")] public string? Gender { get; init; }
    [JsonPropertyName("birthdate")] public string? Birthdate { get; init; }
    [JsonPropertyName("zoneinfo")] public string? Zoneinfo { get; init; }
    [JsonPropertyName("locale")] public string? Locale { get; init; }
    [JsonPropertyName("phone_number")] public string? PhoneNumber { get; init; }
    [JsonPropertyName("phone_number_verified")] public bool? PhoneNumberVerified { get; init; }
    [JsonPropertyName("address")] public JsonElement? Address { get; init; }

    /// <summary>The OIDC claim names above, by the scope that governs them (OIDC Core §5.4).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> ClaimsByScope = new Dictionary<string, string[]>
    {
        ["profile"] = ["given_name", "family_name", "middle_name", "nickname", "preferred_username", "profile", "picture",
                       "website", "gender", "birthdate", "zoneinfo", "locale"],
        ["email"] = ["email"],
        ["address"] = ["address"],
        ["phone"] = ["phone_number"],
    };
}
