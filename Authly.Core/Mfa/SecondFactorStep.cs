using Authly.Configuration;
using System.Text.Json;
using Authly.Counters;
using Authly.Passkeys;
using Authly.Users;

namespace Authly.Mfa;

/// <summary>
/// The step between the first factor and a session: THE seam every second factor plugs into.
/// <list type="number">
/// <item><see cref="AfterFirstFactorAsync"/>: the first factor passed (a password). Either the login is
/// complete (no factor needed) or a pending login starts; the browser keeps its secret in its own cookie.</item>
/// <item><see cref="FindAsync"/>: which user a pending login is for, and the factors to offer.</item>
/// <item><see cref="VerifyAsync"/> (TOTP code, recovery code) or, for a factor that verifies itself
/// (a passkey assertion checked against the pending user's credentials), <see cref="CompleteAsync"/> with
/// its RFC 8176 method: the pending login is completed once and the caller starts the session with the
/// returned amr. Every guess goes through the attempt guard first.</item>
/// </list>
/// A pending login is never a session: nothing else accepts its cookie.
/// </summary>
public sealed class SecondFactorStep(PendingLoginStore pending, SecondFactorPolicy policy, SecondFactors factors, TotpStore totp,
    RecoveryCodeStore recoveryCodes, UserStore users, AttemptGuardStore guard, AuthlyOptions options, MfaAudit audit, PasskeyAssertion passkeys)
{
    public abstract record Outcome;

    /// <summary>The login is complete: start a session with <paramref name="Amr"/>.</summary>
    public sealed record Complete(User User, IReadOnlyList<string> Amr) : Outcome
    {
        public string Acr => AuthenticationMethods.AcrOf(Amr.ToList());
    }

    /// <summary>A second factor is needed (or, <paramref name="MustEnrol"/>, must first be set up): the browser keeps <paramref name="Secret"/>.</summary>
    public sealed record Pending(string Secret, bool MustEnrol) : Outcome;

    /// <summary>An open pending login: the user, the methods passed so far, and what can finish it.</summary>
    public sealed record Open(User User, IReadOnlyList<string> Amr, bool MustEnrol, IReadOnlyList<string> Factors);

    /// <summary>The first factor (<paramref name="amr"/>) passed for <paramref name="user"/>: complete, or pending a second factor.</summary>
    public async Task<Outcome> AfterFirstFactorAsync(User user, IReadOnlyList<string> amr, CancellationToken ct)
    {
        var (_, mustEnrol, needed) = await policy.ForAsync(user, ct);
        if (!needed) return new Complete(user, amr);
        return new Pending(await pending.CreateAsync(user.Id, amr, mustEnrol, ct), mustEnrol);
    }

    /// <summary>
    /// Step-up (acr_values asked for more than the session has): a pending login for the signed-in
    /// user with the methods the session already proved, so only the second factor is asked.
    /// </summary>
    public async Task<Pending> StepUpAsync(User user, IReadOnlyList<string> sessionAmr, CancellationToken ct)
    {
        var enrolled = await factors.EnrolledAsync(user.Id, ct);
        return new Pending(await pending.CreateAsync(user.Id, sessionAmr, mustEnrol: enrolled.Count == 0, ct), enrolled.Count == 0);
    }

    public async Task<Open?> FindAsync(string? pendingSecret, CancellationToken ct)
    {
        var p = await pending.FindAsync(pendingSecret, ct);
        if (p is null) return null;
        var user = await users.FindByIdAsync(p.UserId, ct);
        if (user is not { IsActive: true }) return null;
        return new Open(user, p.Amr, p.MustEnrol, await factors.EnrolledAsync(user.Id, ct));
    }

    /// <summary>
    /// Checks a TOTP code or a recovery code (<paramref name="factor"/>) for the pending login and
    /// completes it. The guess is reserved with the attempt guard before it is checked (per user and per
    /// address, as passwords are), so a parallel burst is evaluated at most the limit times; a right code
    /// clears the user's count.
    /// </summary>
    /// <exception cref="AuthlyException">401 MFA_PENDING_EXPIRED or MFA_INVALID_CODE</exception>
    /// <exception cref="ThrottledException">429 with Retry-After while the user or the address is locked</exception>
    public async Task<Complete> VerifyAsync(string? pendingSecret, string factor, string? code, string? clientIp, CancellationToken ct)
    {
        var open = await FindAsync(pendingSecret, ct) ?? throw MfaErrors.PendingExpired();
        if (open.MustEnrol || !open.Factors.Contains(factor)) throw MfaErrors.InvalidCode();
        await ReserveAsync(open.User, clientIp, ct);
        var ok = factor switch
        {
            SecondFactors.Totp => await totp.VerifyAsync(open.User.Id, code, ct),
            SecondFactors.RecoveryCode => await recoveryCodes.UseAsync(open.User.Id, code, ct),
            _ => false,
        };
        if (!ok)
        {
            audit.Write("use", "failure", open.User.Id, "user", factor);
            throw MfaErrors.InvalidCode();
        }
        await guard.ResetAsync(SecondFactors.GuardKey(open.User.Id), ct);
        await guard.ReleaseAsync(AddressKey(clientIp), options.LockoutIpMaxAttempts, ct);
        return await CompleteAsync(pendingSecret!, open, AuthenticationMethods.OneTimePassword, factor, ct);
    }

    /// <summary>
    /// Completes the pending login with a factor its caller has verified for the pending user (a passkey:
    /// <see cref="AuthenticationMethods.HardwareKey"/> or <see cref="AuthenticationMethods.SoftwareKey"/>).
    /// </summary>
    /// <exception cref="AuthlyException">401 MFA_PENDING_EXPIRED</exception>
    public async Task<Complete> CompleteAsync(string pendingSecret, Guid verifiedUserId, string method, string factor, CancellationToken ct)
    {
        var open = await FindAsync(pendingSecret, ct);
        if (open is null || open.User.Id != verifiedUserId) throw MfaErrors.PendingExpired();
        return await CompleteAsync(pendingSecret, open, method, factor, ct);
    }

    /// <summary>
    /// Passkey as the second factor, step 1: WebAuthn request options for the PENDING login's user (only their credentials),
    /// found from the browser's pending-login secret and never from anything else in the request.
    /// </summary>
    /// <exception cref="AuthlyException">401 MFA_PENDING_EXPIRED; 404 when the pending user has no passkey</exception>
    public async Task<PasskeyCeremony> BeginPasskeyAsync(string? pendingSecret, CancellationToken ct)
    {
        var open = await FindAsync(pendingSecret, ct) ?? throw MfaErrors.PendingExpired();
        if (open.MustEnrol || !open.Factors.Contains(SecondFactors.Passkey)) throw PasskeyErrors.NotFound();
        return await passkeys.BeginAsync(open.User.Id, ct);
    }

    /// <summary>
    /// Passkey as the second factor, step 2: the assertion must be one of the pending user's credentials over the challenge
    /// this browser (<paramref name="handle"/>) was given for that user (<see cref="PasskeyAssertion.VerifyAsync"/>: single use,
    /// counter, user verification, attempt guard); then the pending login completes with hwk or swk.
    /// </summary>
    /// <exception cref="AuthlyException">401 MFA_PENDING_EXPIRED, 400 PASSKEY_FAILED</exception>
    /// <exception cref="ThrottledException">429 while the user or the address is locked</exception>
    public async Task<Complete> VerifyPasskeyAsync(string? pendingSecret, string? handle, JsonElement credential, string? clientIp, CancellationToken ct)
    {
        var open = await FindAsync(pendingSecret, ct) ?? throw MfaErrors.PendingExpired();
        if (open.MustEnrol || !open.Factors.Contains(SecondFactors.Passkey)) throw PasskeyErrors.Failed("pending login without a passkey factor");
        var verified = await passkeys.VerifyAsync(open.User.Id, handle, credential, clientIp, ct);
        var method = verified.Passkey.BackupEligible ? AuthenticationMethods.SoftwareKey : AuthenticationMethods.HardwareKey;
        return await CompleteAsync(pendingSecret!, verified.User.Id, method, SecondFactors.Passkey, ct);
    }

    /// <summary>A must-enrol pending login whose user has just confirmed a factor (<paramref name="method"/>): complete.</summary>
    public async Task<Complete> EnrolledAsync(string pendingSecret, Guid userId, string method, string factor, CancellationToken ct)
    {
        var open = await FindAsync(pendingSecret, ct);
        if (open is null || open.User.Id != userId) throw MfaErrors.PendingExpired();
        return await CompleteAsync(pendingSecret, open, method, factor, ct);
    }

    private async Task<Complete> CompleteAsync(string pendingSecret, Open open, string method, string factor, CancellationToken ct)
    {
        // One UPDATE: two requests finishing the same pending login cannot both get a session.
        if (!await pending.CompleteAsync(pendingSecret, open.User.Id, ct)) throw MfaErrors.PendingExpired();
        audit.Write("use", "success", open.User.Id, "user", factor);
        return new Complete(open.User, AuthenticationMethods.WithSecondFactor(open.Amr, method));
    }

    // The same address budget as passwords (PasswordGuard): one address guessing passwords and codes has one limit.
    private static string AddressKey(string? clientIp) => "login-ip:" + (clientIp ?? "unknown");

    private async Task ReserveAsync(User user, string? clientIp, CancellationToken ct)
    {
        // Its own key per user, apart from the password's: a right password clears the password count, and must not
        // give a code guesser (who has the password) a fresh budget with every login.
        var refusal = await guard.ReserveAsync(
            [(SecondFactors.GuardKey(user.Id), options.LockoutMaxAttempts), (AddressKey(clientIp), options.LockoutIpMaxAttempts)],
            TimeSpan.FromSeconds(options.LockoutDurationSeconds), ct);
        if (refusal is { } r)
        {
            audit.Write("use", "locked", user.Id, "user");
            throw new ThrottledException((int)Math.Ceiling(r.LockedFor.TotalSeconds),
                r.Index == 0 ? PasswordGuard.AccountLocked : PasswordGuard.AddressLocked, OAuth.OAuthErrors.InvalidGrant, ThrottledException.TooManyAttempts);
        }
    }
}
