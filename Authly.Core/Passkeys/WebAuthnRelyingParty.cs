using Authly.Tokens;
using Fido2NetLib;

namespace Authly.Passkeys;

/// <summary>
/// Authly as a WebAuthn Relying Party (WebAuthn §5.1.3): <c>rp.id</c> is the issuer's host and the one
/// accepted origin is the issuer's origin, so an assertion made for any other site (a phishing
/// look-alike, a sibling subdomain) fails verification. Built on first use, after startup set the issuer.
/// </summary>
public sealed class WebAuthnRelyingParty(Issuer issuer)
{
    private Fido2? _fido;

    public Fido2 Fido => _fido ??= Create(issuer.Value);

    public static Fido2 Create(string issuerValue)
    {
        var uri = new Uri(issuerValue);
        return new Fido2(new Fido2Configuration
        {
            RPID = uri.Host,
            RPName = "Authly",
            Origins = new HashSet<string> { uri.GetLeftPart(UriPartial.Authority) },
            Timeout = (uint)PasskeyChallengeStore.Lifetime.TotalMilliseconds,
        });
    }
}
