using Authly.Counters;
using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Mfa;

/// <summary>
/// The factors a user has, by kind (<see cref="Totp"/>, <see cref="RecoveryCode"/>; passkeys add
/// theirs here), for the step page, the account page and the admin API; and the reset of all of
/// them (admin API, CLI, last-admin recovery).
/// </summary>
public sealed class SecondFactors(NpgsqlDataSource db, TotpStore totp, RecoveryCodeStore recoveryCodes, PendingLoginStore pending, AttemptGuardStore guard)
{
    public const string Totp = "totp";
    public const string RecoveryCode = "recovery_code";

    /// <summary>The attempt-guard key of a user's second-factor guesses (apart from the password's, see <see cref="SecondFactorStep"/>).</summary>
    internal static string GuardKey(Guid userId) => "mfa:" + userId.ToString("D");

    public sealed record Summary(bool Totp, DateTime? TotpConfirmedAt, DateTime? TotpLastUsedAt, int RecoveryCodesRemaining);

    public async Task<Summary> SummaryAsync(Guid userId, CancellationToken ct)
    {
        var status = await totp.StatusAsync(userId, ct);
        var confirmed = status is { Confirmed: true };
        return new Summary(confirmed, confirmed ? status!.ConfirmedAt : null, confirmed ? status!.LastUsedAt : null,
            await recoveryCodes.RemainingAsync(userId, ct));
    }

    /// <summary>
    /// The enrolled factors a login can finish with. Recovery codes count only beside a real factor:
    /// they are the way back when the authenticator is lost, not a factor of their own.
    /// </summary>
    public async Task<IReadOnlyList<string>> EnrolledAsync(Guid userId, CancellationToken ct)
    {
        var s = await SummaryAsync(userId, ct);
        if (!s.Totp) return [];
        return s.RecoveryCodesRemaining > 0 ? [Totp, RecoveryCode] : [Totp];
    }

    private const string AdminsWithoutFactorSql = """
        SELECT count(*) FROM users u
        WHERE u.is_admin AND u.is_active
          AND NOT EXISTS (SELECT 1 FROM mfa_totp t WHERE t.user_id = u.id AND t.confirmed_at IS NOT NULL)
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
        var removed = await totp.DeleteAsync(userId, ct);
        removed |= await recoveryCodes.DeleteAsync(userId, ct) > 0;
        await pending.EndAllAsync(userId, ct);
        await guard.ResetAsync(GuardKey(userId), ct);
        return removed;
    }

    /// <summary>Removes one kind of factor (<see cref="Totp"/> also takes the recovery codes, which only count beside it).</summary>
    public async Task<bool> RemoveAsync(Guid userId, string kind, CancellationToken ct) => kind switch
    {
        Totp => await ResetAsync(userId, ct),
        RecoveryCode => await recoveryCodes.DeleteAsync(userId, ct) > 0,
        _ => throw MfaErrors.UnknownFactor(kind),
    };
}
