using Authly.Configuration;
using Authly.Security;
using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Mfa;

/// <summary>
/// A user's TOTP authenticator (table mfa_totp). The shared secret is sealed with
/// <see cref="SecretBox"/> under a key derived from JWT_SECRET_KEY and bound to the user id (a row
/// copied to another user does not open), and it is never logged. A code is accepted once: the
/// step it matched must be later than the last accepted one, checked and recorded in one UPDATE,
/// so two nodes (or two concurrent requests) cannot both accept it (RFC 6238 §5.2).
/// </summary>
public sealed class TotpStore(NpgsqlDataSource db, AuthlyOptions options, TimeProvider clock)
{
    private readonly SecretBox _box = new(options.JwtSecretKey, "mfa_totp.secret_sealed");

    private static string BoundTo(Guid userId) => "user:" + userId.ToString("D");

    /// <summary>The state of a user's TOTP: none, waiting for the confirming code, or in use.</summary>
    public sealed record Status(bool Confirmed, DateTime CreatedAt, DateTime? ConfirmedAt, DateTime? LastUsedAt);

    private const string StatusSql = "SELECT confirmed_at IS NOT NULL AS confirmed, created_at, confirmed_at, last_used_at FROM mfa_totp WHERE user_id = @UserId";

    public async Task<Status?> StatusAsync(Guid userId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Status>(new CommandDefinition(StatusSql, new { UserId = userId }, cancellationToken: ct));
    }

    // A new, unconfirmed secret replaces an unconfirmed one (an abandoned enrolment) but never a confirmed one.
    private const string StartSql = """
        INSERT INTO mfa_totp (user_id, secret_sealed) VALUES (@UserId, @Sealed)
        ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, created_at = now(), last_step = NULL
        WHERE mfa_totp.confirmed_at IS NULL
        """;

    /// <summary>Starts an enrolment: a new secret, stored sealed and unconfirmed. Null when the user already has a confirmed one.</summary>
    public async Task<byte[]?> StartEnrolmentAsync(Guid userId, CancellationToken ct)
    {
        var secret = TotpVerifier.NewSecret();
        await using var conn = await db.OpenAsync(ct);
        var rows = await conn.ExecuteAsync(new CommandDefinition(StartSql, new { UserId = userId, Sealed = _box.Seal(secret, BoundTo(userId)) }, cancellationToken: ct));
        return rows == 1 ? secret : null;
    }

    private const string SecretSql = "SELECT secret_sealed FROM mfa_totp WHERE user_id = @UserId AND (confirmed_at IS NOT NULL) = @Confirmed";

    /// <summary>The unconfirmed secret of an enrolment in progress (to show it again), or null.</summary>
    public async Task<byte[]?> PendingSecretAsync(Guid userId, CancellationToken ct) => await SecretAsync(userId, confirmed: false, ct);

    private async Task<byte[]?> SecretAsync(Guid userId, bool confirmed, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        var sealedSecret = await conn.QuerySingleOrDefaultAsync<byte[]>(new CommandDefinition(SecretSql, new { UserId = userId, Confirmed = confirmed }, cancellationToken: ct));
        return sealedSecret is null ? null : _box.Open(sealedSecret, BoundTo(userId));
    }

    // The step must be later than the last accepted one: the replay check and the record are one statement.
    private const string AcceptSql = """
        UPDATE mfa_totp SET last_step = @Step, last_used_at = now(), confirmed_at = COALESCE(confirmed_at, now())
        WHERE user_id = @UserId AND (confirmed_at IS NOT NULL) = @Confirmed AND (last_step IS NULL OR last_step < @Step)
        """;

    /// <summary>Confirms an enrolment with one valid code (which is then spent). False when the code is wrong or there is nothing to confirm.</summary>
    public Task<bool> ConfirmAsync(Guid userId, string? code, CancellationToken ct) => AcceptAsync(userId, code, confirmed: false, ct);

    /// <summary>Checks a code of a confirmed authenticator; true once per time step (a replayed code is false).</summary>
    public Task<bool> VerifyAsync(Guid userId, string? code, CancellationToken ct) => AcceptAsync(userId, code, confirmed: true, ct);

    private async Task<bool> AcceptAsync(Guid userId, string? code, bool confirmed, CancellationToken ct)
    {
        var secret = await SecretAsync(userId, confirmed, ct);
        if (secret is null) return false;
        var step = TotpVerifier.MatchingStep(secret, code, clock.GetUtcNow());
        if (step is null) return false;
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(AcceptSql, new { UserId = userId, Step = step.Value, Confirmed = confirmed }, cancellationToken: ct)) == 1;
    }

    private const string DeleteSql = "DELETE FROM mfa_totp WHERE user_id = @UserId";

    public async Task<bool> DeleteAsync(Guid userId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(DeleteSql, new { UserId = userId }, cancellationToken: ct)) > 0;
    }
}
