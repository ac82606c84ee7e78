namespace Authly.Mfa;

/// <summary>The second-factor refusals (one <see cref="AuthlyException"/> each; the pages and the admin API map them).</summary>
public static class MfaErrors
{
    public const string WrongCode = "That code is not valid. Check your authenticator app (or the recovery code) and try again.";

    public static AuthlyException PendingExpired() =>
        new(401, "Your sign-in expired before the second step was completed. Please sign in again.", "MFA_PENDING_EXPIRED");

    public static AuthlyException InvalidCode() => new(401, WrongCode, "MFA_INVALID_CODE");

    public static AuthlyException UnknownFactor(string kind) =>
        new(404, $"Unknown factor kind; use one of: {string.Join(", ", SecondFactors.Kinds)}", "MFA_UNKNOWN_FACTOR") { Private = kind.Length > 40 ? kind[..40] : kind };

    public static AuthlyException AlreadyEnrolled() =>
        AuthlyException.Conflict("An authenticator app is already set up. Remove it before setting up another.", "MFA_ALREADY_ENROLLED");
}
