namespace Authly.Passkeys;

/// <summary>
/// The passkey refusals. Every failed ceremony answers the same <see cref="Failed"/> text, whatever
/// the reason (unknown credential, another user's, wrong origin, replayed or foreign challenge,
/// counter regression, inactive account): the reason is logged, never told to the caller.
/// </summary>
public static class PasskeyErrors
{
    public const string FailedMessage = "The passkey could not be verified. Please try again.";

    public static AuthlyException Failed(string reason) =>
        new(400, FailedMessage, "PASSKEY_FAILED") { Private = reason };

    public static AuthlyException NotFound() => AuthlyException.NotFound("Passkey");

    public static AuthlyException TooMany(int max) =>
        AuthlyException.Conflict($"A user can register at most {max} passkeys; delete one first");

    public static AuthlyException AlreadyRegistered() => AuthlyException.Conflict("This passkey is already registered");
}
