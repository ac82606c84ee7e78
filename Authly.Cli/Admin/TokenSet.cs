using System.Text.Json.Serialization;

namespace Authly.Cli.Admin;

/// <summary>What `auth login` keeps: the tokens, when the access token expires, the scopes and the server.</summary>
public sealed record TokenSet
{
    [JsonPropertyName("access_token")] public string AccessToken { get; init; } = "";
    [JsonPropertyName("refresh_token")] public string? RefreshToken { get; init; }
    [JsonPropertyName("token_type")] public string TokenType { get; init; } = "Bearer";
    [JsonPropertyName("expires_at")] public DateTimeOffset ExpiresAt { get; init; }
    [JsonPropertyName("scope")] public string Scope { get; init; } = "";
    [JsonPropertyName("api_url")] public string ApiUrl { get; init; } = "";
    [JsonPropertyName("username")] public string? Username { get; init; }
}
