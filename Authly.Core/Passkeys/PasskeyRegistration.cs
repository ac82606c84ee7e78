using System.Text.Json;
using Authly.Users;
using Fido2NetLib;
using Fido2NetLib.Objects;
using Microsoft.Extensions.Logging;

namespace Authly.Passkeys;

/// <summary>
/// Registering a passkey for a signed-in user (WebAuthn §7.1): <see cref="BeginAsync"/> makes the
/// creation options and stores their challenge; <see cref="FinishAsync"/> consumes it and verifies
/// the authenticator's answer with Fido2. Discoverable credentials and user verification are
/// required, so every passkey can also sign in without a username.
/// </summary>
public sealed class PasskeyRegistration(WebAuthnRelyingParty rp, PasskeyStore store, PasskeyChallengeStore challenges, ILogger<PasskeyRegistration> log)
{
    public const int MaxNameLength = 100;

    /// <summary>The creation options (JSON for <c>navigator.credentials.create</c>) and the handle that binds them to this browser.</summary>
    public async Task<PasskeyCeremony> BeginAsync(User user, CancellationToken ct)
    {
        var existing = await store.ListAsync(user.Id, ct);
        if (existing.Count >= PasskeyStore.MaxPerUser) throw PasskeyErrors.TooMany(PasskeyStore.MaxPerUser);
        var options = rp.Fido.RequestNewCredential(new RequestNewCredentialParams
        {
            // The user handle is the user id: no personal data (WebAuthn §14.6.1), and it never changes.
            User = new Fido2User { Id = user.Id.ToByteArray(), Name = user.Username, DisplayName = user.Username },
            // WebAuthn §5.4.3: the authenticator refuses to create a second credential for this account.
            ExcludeCredentials = existing.Select(p => new PublicKeyCredentialDescriptor(p.CredentialId)).ToList(),
            AuthenticatorSelection = new AuthenticatorSelection
            {
                ResidentKey = ResidentKeyRequirement.Required,
                UserVerification = UserVerificationRequirement.Required,
            },
            AttestationPreference = AttestationConveyancePreference.None,
        });
        var json = options.ToJson();
        var handle = await challenges.SaveAsync(PasskeyChallengeStore.Register, user.Id, json, ct);
        return new PasskeyCeremony(handle, json);
    }

    /// <summary>
    /// Verifies the authenticator's answer against the challenge this browser (<paramref name="handle"/>)
    /// was given for <paramref name="userId"/> and stores the credential.
    /// </summary>
    /// <exception cref="AuthlyException">400 for a malformed answer or name, or any failed verification (one text); 409 at the bound or for a known credential</exception>
    public async Task<Passkey> FinishAsync(Guid userId, string? handle, JsonElement credential, string? name, CancellationToken ct)
    {
        var validName = ValidName(name);
        var response = PasskeyJson.Read<AuthenticatorAttestationRawResponse>(credential);
        var stored = await challenges.ConsumeAsync(handle, PasskeyChallengeStore.Register, ct) ?? throw PasskeyErrors.Failed("no live registration challenge for this browser");
        if (stored.UserId != userId) throw PasskeyErrors.Failed("registration challenge issued to another user");
        RegisteredPublicKeyCredential made;
        try
        {
            made = await rp.Fido.MakeNewCredentialAsync(new MakeNewCredentialParams
            {
                AttestationResponse = response,
                OriginalOptions = CredentialCreateOptions.FromJson(stored.Options),
                IsCredentialIdUniqueToUserCallback = async (args, token) => await store.FindByCredentialIdAsync(args.CredentialId, token) is null,
            }, ct);
        }
        catch (Fido2VerificationException e)
        {
            log.LogWarning("Passkey registration refused for user {UserId}: {Reason}", userId, e.Message);
            throw PasskeyErrors.Failed(e.Message);
        }
        var passkey = await store.InsertAsync(new Passkey
        {
            UserId = userId, CredentialId = made.Id, PublicKey = made.PublicKey, SignCount = made.SignCount,
            Transports = made.Transports?.Select(t => t.ToString().ToLowerInvariant()).ToArray() ?? [],
            Aaguid = made.AaGuid, BackupEligible = made.IsBackupEligible, BackedUp = made.IsBackedUp, Name = validName,
        }, ct);
        if (passkey is null)
        {
            if (await store.FindByCredentialIdAsync(made.Id, ct) is not null) throw PasskeyErrors.AlreadyRegistered();
            throw PasskeyErrors.TooMany(PasskeyStore.MaxPerUser);
        }
        log.LogInformation("audit: passkey {PasskeyId} registered for user {UserId} (aaguid {Aaguid}, backup eligible {BackupEligible})",
            passkey.Id, userId, passkey.Aaguid, passkey.BackupEligible);
        return passkey;
    }

    /// <summary>A passkey's name: 1–100 characters after trimming, no control characters; none given → "Passkey".</summary>
    public static string ValidName(string? name)
    {
        var trimmed = (name ?? "").Trim();
        if (trimmed.Length == 0) return "Passkey";
        if (trimmed.Length > MaxNameLength) throw AuthlyException.Validation($"name is longer than {MaxNameLength} characters", "name");
        if (trimmed.Any(char.IsControl)) throw AuthlyException.Validation("name contains control characters", "name");
        return trimmed;
    }
}
