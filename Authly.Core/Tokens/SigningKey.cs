using Microsoft.IdentityModel.Tokens;

namespace Authly.Tokens;

/// <summary>A key that signs (when active) or only verifies (when retired), with its public JWK.</summary>
public sealed record SigningKey(string Kid, string Algorithm, SecurityKey Key, IReadOnlyDictionary<string, string>? PublicJwk,
    DateTime CreatedAt, DateTime? RetiredAt, DateTime? VerifyUntil)
{
    public bool IsActive => RetiredAt is null;
}
