using Authly.Tokens;

namespace Authly.Tests.Core;

/// <summary>When the signing keys may change (Authly.Core/Tokens/SigningKeyRules), moved out of the admin endpoint in issue 13.</summary>
[TestFixture, Category("Core")]
public sealed class SigningKeyRulesTests
{
    [TestCase("RS256")]
    [TestCase("ES256")]
    public void CheckRotationAllowed_WithAKeyPairAlgorithm_Passes(string algorithm) =>
        Assert.DoesNotThrow(() => SigningKeyRules.CheckRotationAllowed(algorithm));

    [Test, Description("HS256 compatibility mode signs with the configured JWT_SECRET_KEY: nothing to rotate, a 409 conflict with the mode")]
    public void CheckRotationAllowed_InHs256Mode_Throws409()
    {
        var e = Assert.Throws<AuthlyException>(() => SigningKeyRules.CheckRotationAllowed("HS256"))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Status, Is.EqualTo(409));
            Assert.That(e.Code, Is.Null);
            Assert.That(e.Detail, Is.EqualTo("Key rotation is not available in HS256 compatibility mode: change JWT_SECRET_KEY instead"));
        });
    }
}
