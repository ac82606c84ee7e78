using Authly.Configuration;

namespace Authly.Clients;

/// <summary>
/// The FAPI 2.0 Security Profile switch (issue 17): on for every client with AUTHLY_PROFILE=fapi2, or for one
/// client registered with <c>profile: fapi2</c>. <see cref="AppliesTo"/> is the one predicate every rule of the
/// profile asks: PAR required (<see cref="Authorization.AuthorizeValidator"/>), private_key_jwt only
/// (<see cref="ClientAuthenticator"/>), codes live at most <see cref="CodeLifetime"/>, no password grant
/// (<see cref="Grants.GrantEngine"/>), ES256 signing (<see cref="AuthlyOptions"/> refuses to start otherwise);
/// PKCE S256 and iss in responses hold for every client already; sender-constrained tokens: a token request without a
/// DPoP proof is refused (<see cref="Grants.GrantEngine"/>).
/// </summary>
public static class Fapi2Profile
{
    public const string Name = "fapi2";

    /// <summary>FAPI 2.0 Security Profile §5.3.2.1: authorization codes live at most 60 seconds.</summary>
    public static readonly TimeSpan CodeLifetime = TimeSpan.FromSeconds(60);

    /// <summary>Does the profile apply to this request? A request with no client (the first-party password grant) counts only server-wide.</summary>
    public static bool AppliesTo(AuthlyOptions options, Client? client) =>
        options.Profile == Name || client?.Profile == Name;
}
