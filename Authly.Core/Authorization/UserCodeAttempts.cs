using Authly.Counters;
using Authly.OAuth;

namespace Authly.Authorization;

/// <summary>
/// RFC 8628 §5.1: the one budget of user code lookups. Everything that resolves a user code (the
/// verification page by query, the code entry form, the approval) reserves an attempt here before
/// it looks, against the signed-in account and against the caller's IP, so guesses through any
/// mix of pages, sessions or parallel requests add up. The attempt is reserved atomically before
/// the lookup (one transaction in <see cref="AttemptGuardStore"/>), so a burst cannot slip in
/// between a check and a count, and the budget is kept in PostgreSQL: a Redis outage neither
/// resets it nor splits it per node (issue 12 finding 2). Always on, whatever
/// RATE_LIMIT_MAX_REQUESTS says: the numbers below are what make the short user code safe, not a
/// tuning knob.
/// </summary>
/// <remarks>
/// The arithmetic (RFC 8628 §5.1, §6.1). A user code is 8 characters from 20 consonants:
/// N = 20^8 = 25,600,000,000 ≈ 2^34.6 codes. With L codes pending at once, one guess hits some
/// live code with probability at most L/N. A code lives T = 10 minutes; a budget counts in a window
/// of the same 10 minutes from its first lookup, and once spent it is locked for 10 minutes from
/// the last lookup it allowed, so any code's lifetime overlaps at most two budgets: at most
/// 2 × 10 = 20 guesses per account and 2 × 30 = 60 per IP during one code's life.
/// For a large deployment with L = 10,000 codes pending at the same moment:
/// per account, 20 × 10^4 / 2.56×10^10 ≈ 7.8×10^-6; per IP (any number of accounts),
/// 60 × 10^4 / 2.56×10^10 ≈ 2.3×10^-5 per code lifetime. An attacker holding A accounts behind
/// I addresses gets min(20·A, 60·I) guesses per lifetime (100 of each: 2,000 guesses, ≈ 7.8×10^-4).
/// A hit lets the attacker approve that device with the attacker's own account (§5.1) or deny
/// it; it never signs the attacker into the victim's account. Per account rather than per
/// session: a session costs one sign-in, so a per-session budget would grow with every login.
/// </remarks>
public sealed class UserCodeAttempts(AttemptGuardStore attempts)
{
    /// <summary>Lookups per signed-in account (all its sessions together) per <see cref="Window"/>.</summary>
    public const int PerAccount = 10;
    /// <summary>Lookups per client IP per <see cref="Window"/>: a few people behind one NAT can still connect their devices.</summary>
    public const int PerAddress = 30;
    public static readonly TimeSpan Window = DeviceAuthorization.Lifetime;

    /// <summary>Counts one lookup; throws <see cref="ThrottledException"/> (429 with Retry-After) once either budget is spent.</summary>
    public async Task ReserveAsync(Guid userId, string? clientIp, CancellationToken ct)
    {
        var refusal = await attempts.ReserveAsync(
            [("device-user-code:account:" + userId.ToString("N"), PerAccount), ("device-user-code:ip:" + (clientIp ?? "unknown"), PerAddress)],
            Window, ct);
        if (refusal is { } r)
            throw new ThrottledException((int)Math.Ceiling(r.LockedFor.TotalSeconds), "Too many codes tried. Try again later.",
                OAuthErrors.InvalidRequest, ThrottledException.TooManyAttempts);
    }
}
