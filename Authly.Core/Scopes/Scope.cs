using System.Text.Json.Serialization;

namespace Authly.Scopes;

public sealed record Scope
{
    [JsonPropertyName("id")] public Guid Id { get; init; }
    [JsonPropertyName("scope_name")] public string ScopeName { get; init; } = "";
    [JsonPropertyName("description")] public string? Description { get; init; }
    [JsonPropertyName("is_default")] public bool IsDefault { get; init; }
    [JsonPropertyName("is_active")] public bool IsActive { get; init; }
    [JsonPropertyName("created_at")] public DateTime CreatedAt { get; init; }
    [JsonPropertyName("updated_at")] public DateTime UpdatedAt { get; init; }
}
