using Microsoft.Extensions.Logging;

namespace Authly.Mfa;

/// <summary>
/// One log line per second-factor event (enrol, use, failure, reset): what, which user, who, the
/// outcome. Never a secret, code or recovery code: only ids and words from fixed sets.
/// </summary>
public sealed class MfaAudit(ILogger<MfaAudit> log)
{
    /// <summary>Raised with (action, outcome), both from fixed sets, for metrics.</summary>
    public event Action<string, string>? Recorded;

    public void Write(string action, string outcome, Guid userId, string actor, string? factor = null)
    {
        Recorded?.Invoke(action, outcome);
        log.LogInformation("MFA audit: {Action} {Outcome} user={UserId} factor={Factor} actor={Actor}", action, outcome, userId, factor ?? "-", actor);
    }
}
