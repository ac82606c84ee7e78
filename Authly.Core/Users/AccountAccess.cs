using Authly.Scopes;
using Authly.Tokens;

namespace Authly.Users;

/// <summary>
/// What a user's access token may do with that user's own account (/api/v1/users/me and /api/v1/auth/*),
/// decided here once. RFC 6750 §3.1 / RFC 9700 §4.10: a token is good for what its scopes say, not for
/// everything its user could do. <c>/users/me</c> shows the id plus the claims the token's scopes
/// release, as userinfo does (OIDC Core §5.4: profile, email, address, phone); the account record (flags,
/// dates) needs <see cref="UserScopePolicy.AccountRead"/>, and ending every session or changing the
/// password <see cref="UserScopePolicy.AccountWrite"/>. The first-party CLI (client-less tokens,
/// client_id authly-cli) holds both by being Authly's own client.
/// </summary>
public static class AccountAccess
{
    private static readonly string[] ProfileFields =
    [
        "username", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "profile", "picture", "website",
        "gender", "birthdate", "zoneinfo", "locale", "updated_at",
    ];
    // email_verified on userinfo is the account's is_verified.
    private static readonly string[] EmailFields = ["email", "is_verified"];
    private static readonly string[] PhoneFields = ["phone_number", "phone_number_verified"];
    private static readonly string[] AddressFields = ["address"];

    public static bool IsFirstParty(AccessTokenClaims token) => token.ClientId == TokenIssuer.FirstPartyClientId;

    /// <summary>Whether the token may use an account call that needs <paramref name="scope"/> (account:read or account:write).</summary>
    public static bool Allows(AccessTokenClaims token, string scope) => IsFirstParty(token) || token.Scopes.Contains(scope);

    /// <summary>The /users/me fields (API.md names) the token may read, or null for all of them.</summary>
    public static IReadOnlySet<string>? VisibleFields(AccessTokenClaims token)
    {
        if (Allows(token, UserScopePolicy.AccountRead)) return null;
        var scopes = token.Scopes;
        var fields = new HashSet<string>(StringComparer.Ordinal) { "id" };
        if (scopes.Contains("profile")) fields.UnionWith(ProfileFields);
        if (scopes.Contains("email")) fields.UnionWith(EmailFields);
        if (scopes.Contains("phone")) fields.UnionWith(PhoneFields);
        if (scopes.Contains("address")) fields.UnionWith(AddressFields);
        return fields;
    }
}
