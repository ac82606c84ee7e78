using Authly.Configuration;
using Authly.Counters;

namespace Authly.Passkeys;

/// <summary>
/// Failed passkey sign-ins count like failed passwords (the same limits, AUTHLY_LOCKOUT_*), on their
/// own keys so a passkey failure never locks the password and the other way round: per client address,
/// reserved before anything is looked up, and per account, reserved once the credential names one and
/// before its signature is verified. A success clears the account's count and gives the address its attempt back.
/// </summary>
public sealed class PasskeyGuard(AttemptGuardStore counters, AuthlyOptions options)
{
    public const string AccountLocked = "Too many failed passkey attempts. Try again later.";
    public const string AddressLocked = "Too many failed attempts from this address. Try again later.";

    private static string UserKey(Guid userId) => "passkey:" + userId.ToString("N");
    private static string AddressKey(string? clientIp) => "passkey-ip:" + (clientIp ?? "unknown");
    private TimeSpan LockFor => TimeSpan.FromSeconds(options.LockoutDurationSeconds);

    /// <exception cref="ThrottledException">429 with Retry-After while the address is locked</exception>
    public Task ReserveAddressAsync(string? clientIp, CancellationToken ct) =>
        ReserveAsync(AddressKey(clientIp), options.LockoutIpMaxAttempts, AddressLocked, ct);

    /// <exception cref="ThrottledException">429 with Retry-After while the account is locked</exception>
    public Task ReserveUserAsync(Guid userId, CancellationToken ct) =>
        ReserveAsync(UserKey(userId), options.LockoutMaxAttempts, AccountLocked, ct);

    public async Task SucceededAsync(Guid userId, string? clientIp, CancellationToken ct)
    {
        await counters.ResetAsync(UserKey(userId), ct);
        await counters.ReleaseAsync(AddressKey(clientIp), options.LockoutIpMaxAttempts, ct);
    }

    private async Task ReserveAsync(string key, int max, string message, CancellationToken ct)
    {
        if (await counters.ReserveAsync([(key, max)], LockFor, ct) is { } refusal)
            throw new ThrottledException((int)Math.Ceiling(refusal.LockedFor.TotalSeconds), message, OAuth.OAuthErrors.InvalidGrant, ThrottledException.TooManyAttempts);
    }
}
