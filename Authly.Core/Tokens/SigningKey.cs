using Microsoft.IdentityModel.Tokens;

namespace Authly.Tokens;

/// <summary>
/// A signing key and its public JWK. It signs from <see cref="ActivatesAt"/> until <see cref="RetiredAt"/> (both
/// stored, so every node switches at the same instant) and verifies until <see cref="VerifyUntil"/>.
/// </summary>
public sealed record SigningKey(string Kid, string Algorithm, SecurityKey Key, IReadOnlyDictionary<string, string>? PublicJwk,
    DateTime CreatedAt, DateTime? RetiredAt, DateTime? VerifyUntil, DateTime ActivatesAt)
{
    public const string Pending = "pending";
    public const string Active = "active";
    public const string Retiring = "retiring";

    /// <summary>
    /// pending (published in the JWKS, not signing yet), active (signing) or retiring (only verifying, until
    /// <see cref="VerifyUntil"/>), at <paramref name="now"/>.
    /// </summary>
    public string StateAt(DateTimeOffset now) =>
        ActivatesAt > now.UtcDateTime ? Pending : RetiredAt is { } r && r <= now.UtcDateTime ? Retiring : Active;

    public bool SignsAt(DateTimeOffset now) => StateAt(now) == Active;

    /// <summary>No retirement is stored: the newest key (signing, or pending until its activation). Use <see cref="StateAt"/> for the state at an instant.</summary>
    public bool IsActive => RetiredAt is null;
}
