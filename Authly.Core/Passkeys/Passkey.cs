namespace Authly.Passkeys;

/// <summary>A passkeys row: one WebAuthn credential of one user. Column names map by Dapper's underscore matching.</summary>
public sealed record Passkey
{
    public Guid Id { get; init; }
    public Guid UserId { get; init; }
    public byte[] CredentialId { get; init; } = [];
    /// <summary>The credential public key as a COSE_Key (WebAuthn §6.5.1.1), as the authenticator sent it.</summary>
    public byte[] PublicKey { get; init; } = [];
    public long SignCount { get; init; }
    public string[] Transports { get; init; } = [];
    public Guid Aaguid { get; init; }
    /// <summary>WebAuthn §6.1 flag BE: the credential may be synced to other devices (a "synced passkey"), so it is a software key.</summary>
    public bool BackupEligible { get; init; }
    public bool BackedUp { get; init; }
    public string Name { get; init; } = "";
    public DateTime CreatedAt { get; init; }
    public DateTime? LastUsedAt { get; init; }

    /// <summary>
    /// RFC 8176 §2 methods a successful use of this credential proves: <c>hwk</c> for a device-bound key,
    /// <c>swk</c> for one that may be copied (backup eligible), and <c>user</c> for the user verification
    /// every Authly ceremony requires.
    /// </summary>
    public IReadOnlyList<string> Amr => Mfa.AuthenticationMethods.PasskeySignIn(BackupEligible);
}
