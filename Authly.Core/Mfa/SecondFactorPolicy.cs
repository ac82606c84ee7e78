using Authly.Configuration;
using Authly.Users;

namespace Authly.Mfa;

/// <summary>
/// Who must pass a second factor: a user with one enrolled (a factor once set up is always asked
/// for), a user an admin marked mfa_required, and every admin while AUTHLY_REQUIRE_MFA_FOR_ADMINS
/// is on. Such a user without a factor enrols one after the password, before anything is issued.
/// </summary>
public sealed class SecondFactorPolicy(SecondFactors factors, AuthlyOptions options)
{
    public bool Requires(User user) => user.MfaRequired || (user.IsAdmin && options.RequireMfaForAdmins);

    /// <summary>The factors this login must choose from (empty: the password is enough), and whether one must be enrolled first.</summary>
    public async Task<(IReadOnlyList<string> Factors, bool MustEnrol, bool Needed)> ForAsync(User user, CancellationToken ct)
    {
        var enrolled = await factors.EnrolledAsync(user.Id, ct);
        if (enrolled.Count > 0) return (enrolled, false, true);
        return Requires(user) ? (enrolled, true, true) : (enrolled, false, false);
    }
}
