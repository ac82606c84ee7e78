using Authly.Counters;
using Authly.Passkeys;
using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Mfa;

/// <summary>
/// The factors a user has, by kind (<see cref="Totp"/>, <see cref="Passkey"/>, <see cref="RecoveryCode"/>), for
/// the step page, the account page and the admin API; and the reset of all of them (admin API, CLI, last-admin recovery).
/// </summary>
public sealed class SecondFactors(NpgsqlDataSource db, TotpStore totp, RecoveryCodeStore recoveryCodes, PasskeyStore passkeys, PendingLoginStore pending,
    AttemptGuardStore guard)
{
    public const string Totp = "totp";
    /// <summary>Any of the user's WebAuthn credentials (one kind: the step offers them all in one ceremony).</summary>
    public const string Passkey = "passkey";
    public const string RecoveryCode = "recovery_code";

    /// <summary>The kinds an admin can remove one by one (<see cref="RemoveAsync"/>).</summary>
    public static IReadOnlyList<string> Kinds { get; } = [Totp, Passkey, RecoveryCode];

    /// <summary>The attempt-guard key of a user's second-factor guesses (apart from the password's, see <see cref="SecondFactorStep"/>).</summary>
    internal static string GuardKey(Guid userId) => "mfa:" + userId.ToString("D");

    public sealed record Summary(bool Totp, DateTime? TotpConfirmedAt, DateTime? TotpLastUsedAt, int RecoveryCodesRemaining, int Passkeys = 0);

    public async Task<Summary> SummaryAsync(Guid userId, CancellationToken ct)
    {
        var status = await totp.StatusAsync(userId, ct);
        var confirmed = status is { Confirmed: true };
        return new Summary(confirmed, confirmed ? status!.ConfirmedAt : null, confirmed ? status!.LastUsedAt : null,
            await recoveryCodes.RemainingAsync(userId, ct), (await passkeys.ListAsync(userId, ct)).Count);
    }

    /// <summary>
    /// The enrolled factors a login can finish with: a confirmed TOTP, any passkey. Recovery codes count only
    /// beside a real factor: they are the way back when the authenticator is lost, not a factor of their own.
    /// </summary>
    public async Task<IReadOnlyList<string>> EnrolledAsync(Guid userId, CancellationToken ct)
    {
        var s = await SummaryAsync(userId, ct);
        var enrolled = new List<string>(3);
        if (s.Totp) enrolled.Add(Totp);
        if (s.Passkeys > 0) enrolled.Add(Passkey);
        if (enrolled.Count > 0 && s.RecoveryCodesRemaining > 0) enrolled.Add(RecoveryCode);
        return enrolled;
    }

    private const string AdminsWithoutFactorSql = """
        SELECT count(*) FROM users u
        WHERE u.is_admin AND u.is_active
          AND NOT EXISTS (SELECT 1 FROM mfa_totp t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id)
        """;

    /// <summary>Active admins with no confirmed factor (the start-up warning of AUTHLY_REQUIRE_MFA_FOR_ADMINS).</summary>
    public async Task<long> ActiveAdminsWithoutFactorAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<long>(new CommandDefinition(AdminsWithoutFactorSql, cancellationToken: ct));
    }

    /// <summary>Removes every factor of the user, ends their pending logins and clears their second-factor lockout. True when anything was removed.</summary>
    public async Task<bool> ResetAsync(Guid userId, CancellationToken ct)
    {
        var removed = await passkeys.DeleteAllAsync(userId, ct) > 0;
        removed |= await RemoveTotpAsync(userId, ct);
        return removed;
    }

    /// <summary>
    /// Removes one kind of factor (<see cref="Totp"/> also takes the recovery codes, which are its way back; <see cref="Passkey"/>
    /// all the user's passkeys). Either also ends the user's pending logins and clears their second-factor lockout.
    /// </summary>
    public async Task<bool> RemoveAsync(Guid userId, string kind, CancellationToken ct)
    {
        switch (kind)
        {
            case Totp:
                return await RemoveTotpAsync(userId, ct);
            case Passkey:
                var removed = await passkeys.DeleteAllAsync(userId, ct) > 0;
                await EndPendingAsync(userId, ct);
                return removed;
            case RecoveryCode:
                return await recoveryCodes.DeleteAsync(userId, ct) > 0;
            default:
                throw MfaErrors.UnknownFactor(kind);
        }
    }

    private async Task<bool> RemoveTotpAsync(Guid userId, CancellationToken ct)
    {
        var removed = await totp.DeleteAsync(userId, ct);
        removed |= await recoveryCodes.DeleteAsync(userId, ct) > 0;
        await EndPendingAsync(userId, ct);
        return removed;
    }

    private async Task EndPendingAsync(Guid userId, CancellationToken ct)
    {
        await pending.EndAllAsync(userId, ct);
        await guard.ResetAsync(GuardKey(userId), ct);
    }
}
