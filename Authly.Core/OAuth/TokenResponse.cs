using System.Text.Json.Serialization;

namespace Authly.OAuth;

/// <summary>RFC 6749 §5.1 successful token response.</summary>
public sealed record TokenResponse
{
    [JsonPropertyName("access_token")] public required string AccessToken { get; init; }
    [JsonPropertyName("token_type")] public string TokenType { get; init; } = "Bearer";
    [JsonPropertyName("expires_in")] public required int ExpiresIn { get; init; }
    [JsonPropertyName("refresh_token"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? RefreshToken { get; init; }
    [JsonPropertyName("scope")] public required string Scope { get; init; }
    [JsonPropertyName("id_token"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? IdToken { get; init; }
    /// <summary>RFC 8693 §2.2.1: token exchange only.</summary>
    [JsonPropertyName("issued_token_type"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? IssuedTokenType { get; init; }
    /// <summary>Password grant only (Authly compatibility).</summary>
    [JsonPropertyName("requires_password_change"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? RequiresPasswordChange { get; init; }
}
