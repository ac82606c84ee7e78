using System.Text.Json.Serialization;

namespace Authly.Tokens;

/// <summary>RFC 7662 §2.2. An inactive token is exactly {"active":false}.</summary>
public sealed record IntrospectionResponse
{
    public static readonly IntrospectionResponse Inactive = new() { Active = false };

    [JsonPropertyName("active")] public bool Active { get; init; }
    [JsonPropertyName("scope"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Scope { get; init; }
    [JsonPropertyName("client_id"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? ClientId { get; init; }
    [JsonPropertyName("username"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Username { get; init; }
    [JsonPropertyName("token_type"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? TokenType { get; init; }
    [JsonPropertyName("exp"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Exp { get; init; }
    [JsonPropertyName("iat"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Iat { get; init; }
    [JsonPropertyName("nbf"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? Nbf { get; init; }
    [JsonPropertyName("sub"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Sub { get; init; }
    [JsonPropertyName("aud"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Aud { get; init; }
    [JsonPropertyName("iss"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Iss { get; init; }
    [JsonPropertyName("jti"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Jti { get; init; }
    /// <summary>RFC 9449 §6.2: the key a DPoP-bound token is bound to, as {"jkt": thumbprint}.</summary>
    [JsonPropertyName("cnf"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyDictionary<string, string>? Cnf { get; init; }
}
