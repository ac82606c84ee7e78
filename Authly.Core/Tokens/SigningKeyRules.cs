namespace Authly.Tokens;

/// <summary>When the signing keys may be changed: one place for the admin API and the key store.</summary>
public static class SigningKeyRules
{
    /// <summary>
    /// HS256 compatibility mode signs with the one shared JWT_SECRET_KEY from configuration: there is
    /// no key pair to rotate, so rotation is a conflict with the configured mode (409), not a bad request.
    /// </summary>
    public static void CheckRotationAllowed(string signingAlgorithm)
    {
        if (signingAlgorithm == "HS256")
            throw AuthlyException.Conflict("Key rotation is not available in HS256 compatibility mode: change JWT_SECRET_KEY instead");
    }
}
