using System.Text.Json.Serialization;

namespace Authly.Vault;

/// <summary>A sign-in session of a user at a provider (or at this Authly).</summary>
public sealed record UpstreamSession(
    [property: JsonPropertyName("sid")] string Sid,
    [property: JsonPropertyName("created_at")] DateTime CreatedAt,
    [property: JsonPropertyName("last_seen_at")] DateTime? LastSeenAt,
    [property: JsonPropertyName("expires_at")] DateTime? ExpiresAt,
    [property: JsonPropertyName("ip")] string? Ip,
    [property: JsonPropertyName("user_agent")] string? UserAgent);
