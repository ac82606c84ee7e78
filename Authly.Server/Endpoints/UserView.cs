using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Authly.Users;

namespace Authly.Server.Endpoints;

/// <summary>A user as the APIs show it (API.md field names); never the password hash.</summary>
public sealed record UserView
{
    [JsonPropertyName("id")] public Guid Id { get; init; }
    [JsonPropertyName("username")] public string Username { get; init; } = "";
    [JsonPropertyName("email")] public string Email { get; init; } = "";
    [JsonPropertyName("created_at")] public DateTime CreatedAt { get; init; }
    [JsonPropertyName("updated_at")] public DateTime UpdatedAt { get; init; }
    [JsonPropertyName("last_login")] public DateTime? LastLogin { get; init; }
    [JsonPropertyName("is_active")] public bool IsActive { get; init; }
    [JsonPropertyName("is_verified")] public bool IsVerified { get; init; }
    [JsonPropertyName("is_admin")] public bool IsAdmin { get; init; }
    [JsonPropertyName("requires_password_change")] public bool RequiresPasswordChange { get; init; }
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

    /// <summary>The view as JSON with only <paramref name="fields"/> (all when null): a field the token may not read is absent, not null.</summary>
    public static JsonNode Only(UserView view, IReadOnlySet<string>? fields)
    {
        var json = JsonSerializer.SerializeToNode(view)!.AsObject();
        if (fields is null) return json;
        foreach (var name in json.Select(p => p.Key).Where(k => !fields.Contains(k)).ToList()) json.Remove(name);
        return json;
    }


    public static UserView Of(User u) => new()
    {
        Id = u.Id, Username = u.Username, Email = u.Email, CreatedAt = u.CreatedAt, UpdatedAt = u.UpdatedAt,
        LastLogin = u.LastLogin, IsActive = u.IsActive, IsVerified = u.IsVerified, IsAdmin = u.IsAdmin,
        RequiresPasswordChange = u.RequiresPasswordChange, GivenName = u.GivenName, FamilyName = u.FamilyName,
        MiddleName = u.MiddleName, Nickname = u.Nickname, PreferredUsername = u.PreferredUsername, Profile = u.Profile,
        Picture = u.Picture, Website = u.Website, Gender = u.Gender, Birthdate = u.Birthdate, Zoneinfo = u.Zoneinfo,
        Locale = u.Locale, PhoneNumber = u.PhoneNumber, PhoneNumberVerified = u.PhoneNumberVerified,
        Address = u.Address is null ? null : JsonDocument.Parse(u.Address).RootElement.Clone(),
    };
}
