namespace Authly.Mfa;

/// <summary>
/// How a user signed in: the RFC 8176 "amr" values Authly uses, and the two "acr" levels it
/// advertises (OIDC Core §2: acr is the level, amr the methods). The session carries both; codes
/// copy them; ID tokens show them. Every login ends here: <see cref="AfterPassword"/>,
/// <see cref="WithSecondFactor"/>, and <see cref="AcrOf"/> derive the level from the methods, so
/// no other place decides what counts as multi-factor.
/// </summary>
public static class AuthenticationMethods
{
    /// <summary>RFC 8176 §2 "pwd": password-based authentication.</summary>
    public const string Password = "pwd";
    /// <summary>RFC 8176 §2 "otp": one-time password (RFC 6238 TOTP, and Authly's single-use recovery codes).</summary>
    public const string OneTimePassword = "otp";
    /// <summary>RFC 8176 §2 "hwk": proof of possession of a hardware-secured key (a roaming or platform passkey).</summary>
    public const string HardwareKey = "hwk";
    /// <summary>RFC 8176 §2 "swk": proof of possession of a software-secured key.</summary>
    public const string SoftwareKey = "swk";
    /// <summary>RFC 8176 §2 "user": user presence test (a passkey's user verification).</summary>
    public const string UserPresence = "user";
    /// <summary>RFC 8176 §2 "mfa": multiple-factor authentication (set with the methods that made it so).</summary>
    public const string MultiFactor = "mfa";

    /// <summary>acr for a login with one factor (a password).</summary>
    public const string AcrPassword = "urn:authly:acr:pwd";
    /// <summary>acr for a login with two factors (RFC 8176 "mfa" in amr).</summary>
    public const string AcrMultiFactor = "urn:authly:acr:mfa";

    /// <summary>The acr values Authly supports, weakest first (discovery's acr_values_supported).</summary>
    public static IReadOnlyList<string> AcrValues { get; } = [AcrPassword, AcrMultiFactor];

    /// <summary>A login that has passed the password only.</summary>
    public static IReadOnlyList<string> AfterPassword { get; } = [Password];

    /// <summary>
    /// The methods after a second factor (<paramref name="method"/>: otp, hwk, swk) on top of the
    /// first: both, plus "mfa" when they are different factors.
    /// </summary>
    public static IReadOnlyList<string> WithSecondFactor(IReadOnlyList<string> first, string method)
    {
        if (method is not (OneTimePassword or HardwareKey or SoftwareKey))
            throw new ArgumentException($"'{method}' is not a second factor", nameof(method));
        var all = first.Where(m => m != MultiFactor).Append(method).Distinct(StringComparer.Ordinal).ToList();
        all.Add(MultiFactor);
        return all;
    }

    /// <summary>
    /// A passwordless sign-in with a passkey: the key (hwk, or swk for a synced, backup-eligible one), the user
    /// verification the ceremony always requires (RFC 8176 "user": a PIN or biometric on the authenticator), and so
    /// "mfa": possession of the key plus something the user knows or is, checked on the device. This is what makes a
    /// passkey alone meet <see cref="AcrMultiFactor"/> and a required second factor.
    /// </summary>
    public static IReadOnlyList<string> PasskeySignIn(bool synced) => [synced ? SoftwareKey : HardwareKey, UserPresence, MultiFactor];

    /// <summary>The acr level of a set of methods: multi-factor when amr says "mfa".</summary>
    public static string AcrOf(IReadOnlyCollection<string> amr) => amr.Contains(MultiFactor) ? AcrMultiFactor : AcrPassword;

    /// <summary>How strong an acr is (index in <see cref="AcrValues"/>); -1 for a value Authly does not know.</summary>
    public static int Strength(string acr) => AcrValues.ToList().IndexOf(acr);
}
