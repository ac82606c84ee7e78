using OtpNet;

namespace Authly.Mfa;

/// <summary>
/// RFC 6238 TOTP with Otp.NET: 30-second steps from the Unix epoch, HMAC-SHA1, 6 digits (what
/// authenticator apps expect), and a window of one step either side (RFC 6238 §5.2: one step of
/// network delay and clock drift). Pure: replay is refused by <see cref="TotpStore"/>, which
/// accepts each time step once.
/// </summary>
public static class TotpVerifier
{
    public const int StepSeconds = 30;
    public const int Digits = 6;
    /// <summary>RFC 4226 §4: at least 128 bits of shared secret; 160 (the SHA-1 block's natural size) is recommended.</summary>
    public const int SecretBytes = 20;

    public static byte[] NewSecret() => KeyGeneration.GenerateRandomKey(SecretBytes);

    /// <summary>The secret as authenticator apps take it: RFC 4648 base32 without padding.</summary>
    public static string Base32(byte[] secret) => Base32Encoding.ToString(secret).TrimEnd('=');

    /// <summary>The Key Uri Format authenticator apps read from a QR code (otpauth://totp/Issuer:user?secret=…).</summary>
    public static string KeyUri(byte[] secret, string issuerName, string username)
    {
        var label = Uri.EscapeDataString(issuerName) + ":" + Uri.EscapeDataString(username);
        return $"otpauth://totp/{label}?secret={Base32(secret)}&issuer={Uri.EscapeDataString(issuerName)}&algorithm=SHA1&digits={Digits}&period={StepSeconds}";
    }

    /// <summary>
    /// The time step <paramref name="code"/> is valid for at <paramref name="now"/> (±1 step), or null.
    /// Anything but exactly <paramref name="digits"/> ASCII digits is refused before any HMAC.
    /// </summary>
    public static long? MatchingStep(byte[] secret, string? code, DateTimeOffset now, OtpHashMode mode = OtpHashMode.Sha1, int digits = Digits)
    {
        code = code?.Replace(" ", "", StringComparison.Ordinal);
        if (code is null || code.Length != digits || !code.All(char.IsAsciiDigit)) return null;
        // Otp.NET compares the candidate codes in constant time (ValuesEqual): no timing tells how much of a guess is right.
        var totp = new Totp(secret, StepSeconds, mode, digits);
        return totp.VerifyTotp(now.UtcDateTime, code, out var step, new VerificationWindow(previous: 1, future: 1)) ? step : null;
    }

    /// <summary>The code for <paramref name="at"/> (tests and the RFC 6238 Appendix B vectors).</summary>
    public static string CodeAt(byte[] secret, DateTimeOffset at, OtpHashMode mode = OtpHashMode.Sha1, int digits = Digits) =>
        new Totp(secret, StepSeconds, mode, digits).ComputeTotp(at.UtcDateTime);
}
