using Authly.Tokens;

namespace Authly.Tests.Core;

/// <summary>RFC 7519 §4.1.4–§4.1.6: the one lifetime rule for Authly's JWTs, with the clock leeway on nbf/iat only.</summary>
[TestFixture, Category("Core")]
public sealed class TokenLifetimeTests
{
    private const long Now = 1_800_000_000;
    private static readonly TimeSpan Leeway = TimeSpan.FromSeconds(60);

    [TestCase(Now + 60, true, TestName = "TokenLifetime_NbfAtTheLeeway_IsCurrent")]
    [TestCase(Now + 61, false, TestName = "TokenLifetime_NbfBeyondTheLeeway_IsNotYetValid")]
    [TestCase(Now - 3600, true, TestName = "TokenLifetime_NbfInThePast_IsCurrent")]
    [Description("RFC 7519 §4.1.5: nbf with leeway (Issue12_Finding7)")]
    public void TokenLifetime_Nbf(long nbf, bool current) =>
        Assert.That(TokenLifetime.IsCurrent(Now + 600, nbf, null, Now, Leeway), Is.EqualTo(current));

    [TestCase(Now + 60, true, TestName = "TokenLifetime_IatAtTheLeeway_IsCurrent")]
    [TestCase(Now + 61, false, TestName = "TokenLifetime_IatBeyondTheLeeway_IsRefused")]
    [Description("RFC 7519 §4.1.6: an iat further in the future than the leeway was not minted by a node of ours")]
    public void TokenLifetime_Iat(long iat, bool current) =>
        Assert.That(TokenLifetime.IsCurrent(Now + 600, null, iat, Now, Leeway), Is.EqualTo(current));

    [TestCase(Now + 1, true, TestName = "TokenLifetime_ExpOneSecondAhead_IsCurrent")]
    [TestCase(Now, false, TestName = "TokenLifetime_ExpNow_IsExpiredWithoutLeeway")]
    [TestCase(Now - 1, false, TestName = "TokenLifetime_ExpOneSecondAgo_IsExpiredWithoutLeeway")]
    [Description("RFC 7519 §4.1.4: no leeway on exp, so a revoked token cannot outlive its revocation-list entry")]
    public void TokenLifetime_Exp(long exp, bool current) =>
        Assert.That(TokenLifetime.IsCurrent(exp, Now, Now, Now, Leeway), Is.EqualTo(current));

    [Test, Description("AUTHLY_CLOCK_LEEWAY_SECONDS=0: nbf and iat must not lie in the future at all")]
    public void TokenLifetime_ZeroLeeway_RefusesAnyFutureNbf() =>
        Assert.That(TokenLifetime.IsCurrent(Now + 600, Now + 1, null, Now, TimeSpan.Zero), Is.False);
}
