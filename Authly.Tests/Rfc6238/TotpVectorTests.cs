using System.Text;
using Authly.Mfa;
using OtpNet;

namespace Authly.Tests.Rfc6238;

/// <summary>RFC 6238 through Authly's verifier: the Appendix B test vectors, and the ±1 step window of §5.2.</summary>
[TestFixture, Category("RFC6238")]
public sealed class TotpVectorTests
{
    private static readonly byte[] Sha1Key = Encoding.ASCII.GetBytes("12345678901234567890");
    private static readonly byte[] Sha256Key = Encoding.ASCII.GetBytes("12345678901234567890123456789012");
    private static readonly byte[] Sha512Key = Encoding.ASCII.GetBytes("1234567890123456789012345678901234567890123456789012345678901234");

    [TestCase(59L, "94287082", "46119246", "90693936")]
    [TestCase(1111111109L, "07081804", "68084774", "25091201")]
    [TestCase(1111111111L, "14050471", "67062674", "99943326")]
    [TestCase(1234567890L, "89005924", "91819424", "93441116")]
    [TestCase(2000000000L, "69279037", "90698825", "38618901")]
    [TestCase(20000000000L, "65353130", "77737706", "47863826")]
    [Description("RFC 6238 Appendix B")]
    public void AppendixB_Vector_IsAcceptedForItsStep(long unixTime, string sha1, string sha256, string sha512)
    {
        var at = DateTimeOffset.FromUnixTimeSeconds(unixTime);
        var step = unixTime / 30;
        Assert.Multiple(() =>
        {
            Assert.That(TotpVerifier.CodeAt(Sha1Key, at, OtpHashMode.Sha1, 8), Is.EqualTo(sha1));
            Assert.That(TotpVerifier.MatchingStep(Sha1Key, sha1, at, OtpHashMode.Sha1, 8), Is.EqualTo(step));
            Assert.That(TotpVerifier.MatchingStep(Sha256Key, sha256, at, OtpHashMode.Sha256, 8), Is.EqualTo(step));
            Assert.That(TotpVerifier.MatchingStep(Sha512Key, sha512, at, OtpHashMode.Sha512, 8), Is.EqualTo(step));
        });
    }

    [TestCase(-1, true)]
    [TestCase(1, true)]
    [TestCase(-2, false)]
    [TestCase(2, false)]
    [Description("RFC 6238 §5.2: at most one step of delay or drift either way")]
    public void Code_OfANeighbouringStep_IsAcceptedOnlyWithinOneStep(int steps, bool accepted)
    {
        var secret = TotpVerifier.NewSecret();
        var now = DateTimeOffset.FromUnixTimeSeconds(1_700_000_010);
        var code = TotpVerifier.CodeAt(secret, now.AddSeconds(30 * steps));
        var step = TotpVerifier.MatchingStep(secret, code, now);
        if (accepted) Assert.That(step, Is.EqualTo(now.ToUnixTimeSeconds() / 30 + steps));
        else Assert.That(step, Is.Null);
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("12345")]
    [TestCase("1234567")]
    [TestCase("12a456")]
    [TestCase("１２３４５６")]
    [Description("Bad input: anything but six ASCII digits is refused before any HMAC")]
    public void MalformedCode_IsRefused(string? code) =>
        Assert.That(TotpVerifier.MatchingStep(TotpVerifier.NewSecret(), code, DateTimeOffset.UtcNow), Is.Null);

    [Test, Description("RFC 4226 §4 R6: the shared secret has at least 128 bits; authenticator apps read base32 in an otpauth URI")]
    public void NewSecret_Has160Bits_AndAKeyUri()
    {
        var secret = TotpVerifier.NewSecret();
        Assert.That(secret, Has.Length.EqualTo(20));
        Assert.That(TotpVerifier.KeyUri(secret, "Authly example.com", "alice"),
            Does.StartWith("otpauth://totp/Authly%20example.com:alice?secret=" + TotpVerifier.Base32(secret)).And.Contain("period=30"));
    }
}
