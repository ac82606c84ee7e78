using System.Text.Json;
using Authly.Users;
using Fido2NetLib;
using Fido2NetLib.Objects;
using Microsoft.Extensions.Logging;

namespace Authly.Passkeys;

/// <summary>
/// Proving possession of a passkey (WebAuthn §7.2), for both uses:
/// <list type="bullet">
/// <item>passwordless sign-in (<see cref="BeginSignInAsync"/>, <see cref="VerifySignInAsync"/>): discoverable
/// credentials, an empty allowCredentials, the user found from the credential and its user handle;</item>
/// <item>a second factor for a user already known from the password step (<see cref="BeginAsync"/>,
/// <see cref="VerifyAsync"/>): only that user's credentials are offered and accepted.</item>
/// </list>
/// Both require user verification, consume the challenge once, refuse a sign counter that does not move
/// forward (unless it is 0 on both sides), refuse an inactive or unverified account, and count failures
/// with <see cref="PasskeyGuard"/>. Every refusal is <see cref="PasskeyErrors.Failed"/> with the reason logged.
/// </summary>
public sealed class PasskeyAssertion(WebAuthnRelyingParty rp, PasskeyStore store, PasskeyChallengeStore challenges, UserStore users,
    PasskeyGuard guard, ILogger<PasskeyAssertion> log)
{
    /// <summary>A verified use: who, with which passkey, and the RFC 8176 methods for the session (<see cref="Passkey.Amr"/>).</summary>
    public sealed record Verified(User User, Passkey Passkey)
    {
        public IReadOnlyList<string> Amr => Passkey.Amr;
    }

    /// <summary>Options for a passwordless sign-in: any discoverable credential of this RP, user verification required.</summary>
    public Task<PasskeyCeremony> BeginSignInAsync(CancellationToken ct) => BeginAsync(PasskeyChallengeStore.SignIn, null, [], ct);

    /// <summary>Options for a second factor of <paramref name="userId"/>: that user's credentials only.</summary>
    /// <exception cref="AuthlyException">404 when the user has no passkey</exception>
    public async Task<PasskeyCeremony> BeginAsync(Guid userId, CancellationToken ct)
    {
        var passkeys = await store.ListAsync(userId, ct);
        if (passkeys.Count == 0) throw PasskeyErrors.NotFound();
        return await BeginAsync(PasskeyChallengeStore.SecondFactor, userId,
            passkeys.Select(p => new PublicKeyCredentialDescriptor(PublicKeyCredentialType.PublicKey, p.CredentialId, TransportsOf(p))).ToList(), ct);
    }

    /// <summary>Verifies a passwordless sign-in against the challenge this browser (<paramref name="handle"/>) was given.</summary>
    public Task<Verified> VerifySignInAsync(string? handle, JsonElement credential, string? clientIp, CancellationToken ct) =>
        VerifyAsync(PasskeyChallengeStore.SignIn, null, handle, credential, clientIp, ct);

    /// <summary>Verifies a second factor: the credential must be <paramref name="userId"/>'s and the challenge one issued for that user to this browser.</summary>
    public Task<Verified> VerifyAsync(Guid userId, string? handle, JsonElement credential, string? clientIp, CancellationToken ct) =>
        VerifyAsync(PasskeyChallengeStore.SecondFactor, userId, handle, credential, clientIp, ct);

    private async Task<PasskeyCeremony> BeginAsync(string purpose, Guid? userId, IReadOnlyList<PublicKeyCredentialDescriptor> allowed, CancellationToken ct)
    {
        var options = rp.Fido.GetAssertionOptions(new GetAssertionOptionsParams
        {
            AllowedCredentials = allowed,
            UserVerification = UserVerificationRequirement.Required,
        });
        var json = options.ToJson();
        return new PasskeyCeremony(await challenges.SaveAsync(purpose, userId, json, ct), json);
    }

    private async Task<Verified> VerifyAsync(string purpose, Guid? expectedUser, string? handle, JsonElement credential, string? clientIp, CancellationToken ct)
    {
        var response = PasskeyJson.Read<AuthenticatorAssertionRawResponse>(credential);
        if (response.Response is null) throw AuthlyException.Validation("credential has no response", "credential");
        // Counted before anything is looked up, like a password attempt (RFC 6749 §10.10's spirit for any guessable sign-in).
        await guard.ReserveAddressAsync(clientIp, ct);
        var stored = await challenges.ConsumeAsync(handle, purpose, ct) ?? throw Refuse(null, "no live challenge for this browser (replayed, expired, or never issued to it)");
        if (stored.UserId != expectedUser) throw Refuse(null, "challenge issued for another user");
        var passkey = await store.FindByCredentialIdAsync(response.RawId ?? [], ct) ?? throw Refuse(null, "unknown or deleted credential");
        if (expectedUser is { } u && passkey.UserId != u) throw Refuse(passkey, "credential of another user");
        // WebAuthn §7.2 step 6: a discoverable credential names its user; that handle must be the credential's owner.
        var userHandle = passkey.UserId.ToByteArray();
        if (expectedUser is null && response.Response.UserHandle is not { Length: > 0 }) throw Refuse(passkey, "no user handle in a passwordless assertion");
        await guard.ReserveUserAsync(passkey.UserId, ct);

        VerifyAssertionResult result;
        try
        {
            result = await rp.Fido.MakeAssertionAsync(new MakeAssertionParams
            {
                AssertionResponse = response,
                OriginalOptions = AssertionOptions.FromJson(stored.Options),
                StoredPublicKey = passkey.PublicKey,
                StoredSignatureCounter = (uint)passkey.SignCount,
                IsUserHandleOwnerOfCredentialIdCallback = (args, _) => Task.FromResult(
                    args.UserHandle.AsSpan().SequenceEqual(userHandle) && args.CredentialId.AsSpan().SequenceEqual(passkey.CredentialId)),
            }, ct);
        }
        catch (Fido2VerificationException e)
        {
            throw Refuse(passkey, e.Message);
        }

        if (!await store.RecordUseAsync(passkey.Id, passkey.SignCount, result.SignCount, result.IsBackedUp, ct))
        {
            // A counter that does not move forward means two copies of the credential exist (WebAuthn §6.1.1).
            log.LogWarning("Passkey {PasskeyId} of user {UserId}: sign counter regression ({Stored} stored, {Presented} presented); possible cloned authenticator",
                passkey.Id, passkey.UserId, passkey.SignCount, result.SignCount);
            throw PasskeyErrors.Failed("sign counter regression");
        }
        var user = await users.FindByIdAsync(passkey.UserId, ct);
        if (user is not { IsActive: true, IsVerified: true }) throw Refuse(passkey, user is null ? "user gone" : "account inactive or unverified");
        await guard.SucceededAsync(user.Id, clientIp, ct);
        log.LogInformation("audit: passkey {PasskeyId} used by user {UserId} ({Purpose})", passkey.Id, user.Id, purpose);
        return new Verified(user, passkey);
    }

    private AuthlyException Refuse(Passkey? passkey, string reason)
    {
        log.LogWarning("Passkey assertion refused (passkey {PasskeyId}, user {UserId}): {Reason}", passkey?.Id, passkey?.UserId, reason);
        return PasskeyErrors.Failed(reason);
    }

    private static AuthenticatorTransport[]? TransportsOf(Passkey p)
    {
        var known = p.Transports.Select(t => Enum.TryParse<AuthenticatorTransport>(t, ignoreCase: true, out var v) ? v : (AuthenticatorTransport?)null)
            .OfType<AuthenticatorTransport>().ToArray();
        return known.Length == 0 ? null : known;
    }
}
