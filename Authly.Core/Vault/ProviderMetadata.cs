namespace Authly.Vault;

/// <summary>The parts of a provider's discovery document (OpenID Connect Discovery 1.0 §3, RFC 8414 §2) the vault uses.</summary>
public sealed record ProviderMetadata(
    string Issuer,
    string AuthorizationEndpoint,
    string TokenEndpoint,
    string? RevocationEndpoint,
    string? IntrospectionEndpoint,
    string? JwksUri,
    bool IssParameterSupported);
