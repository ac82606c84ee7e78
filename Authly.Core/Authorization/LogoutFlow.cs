using System.Security.Cryptography;
using System.Text;
using Authly.Clients;
using Authly.Oidc;

namespace Authly.Authorization;

/// <summary>
/// The sign-out decisions: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2, §3) and
/// front-channel logout (Front-Channel Logout 1.0 §2). Which session ends, whether the user is asked
/// first, and where the browser goes afterwards; the endpoints parse, call and render the <see cref="Decision"/>.
/// </summary>
public sealed class LogoutFlow(IdTokenIssuer idTokens, ClientStore clients)
{
    /// <param name="PostLogoutRedirectUri">The validated post_logout_redirect_uri (registered for the client), which the pages may send the browser to.</param>
    public abstract record Decision(string? PostLogoutRedirectUri);

    /// <summary>The request is refused (shown, never redirected); nothing ends.</summary>
    public sealed record Refused(string Message) : Decision((string?)null);

    /// <summary>RP-Initiated Logout §2: ask the user first (the CSRF-protected POST), carrying <paramref name="Fields"/> over.</summary>
    public sealed record Ask(string? PostLogoutRedirectUri, IReadOnlyList<KeyValuePair<string, string>> Fields) : Decision(PostLogoutRedirectUri);

    /// <summary>
    /// Sign out: end the browser's own session when <paramref name="EndSession"/>, then send the browser to
    /// <paramref name="RedirectTo"/> (the post_logout_redirect_uri with state) or show the signed-out page.
    /// </summary>
    public sealed record SignOut(bool EndSession, string? PostLogoutRedirectUri, string? State) : Decision(PostLogoutRedirectUri);

    /// <summary>The browser's session as logout sees it: whose, and which.</summary>
    public sealed record SignedIn(Guid UserId, string Sid);

    /// <param name="parameters">The query (GET) or form (POST) parameters.</param>
    /// <param name="current">The session whose cookie came with this request, or null.</param>
    /// <param name="confirmed">A POST whose CSRF token is valid for this browser: the user answered the question.</param>
    public async Task<Decision> DecideAsync(IReadOnlyDictionary<string, string> parameters, Func<CancellationToken, Task<SignedIn?>> current,
        bool confirmed, CancellationToken ct)
    {
        var hint = parameters.GetValueOrDefault("id_token_hint");
        var redirect = parameters.GetValueOrDefault("post_logout_redirect_uri");
        var clientId = parameters.GetValueOrDefault("client_id");
        string? hintSubject = null;
        if (!string.IsNullOrEmpty(hint))
        {
            var validated = await idTokens.ValidateHintAsync(hint, ct);
            if (validated is null) return new Refused("The id_token_hint is not a valid ID token of this server.");
            if (clientId is not null && clientId != validated.Value.ClientId) return new Refused("client_id does not match the id_token_hint.");
            (clientId, hintSubject, _) = validated.Value;
        }
        if (string.IsNullOrEmpty(redirect)) redirect = null;
        else
        {
            // Only to a URI registered for the client the hint (or client_id) names: never an open redirect.
            var client = clientId is null ? null : await clients.FindActiveAsync(clientId, ct);
            if (client is null || !client.PostLogoutRedirectUris.Contains(redirect, StringComparer.Ordinal))
                return new Refused("The post_logout_redirect_uri is not registered for this client.");
        }

        // The hint identifies the RP and the user; it never authorizes. Only the session whose cookie
        // came with this request can end (issue #11 finding 6): never the hint's sid, which a request
        // without cookies, or another browser, could otherwise end. RP-Initiated Logout §2: the OP
        // MUST ask (the CSRF-protected POST, whose token is bound to this session) when there is no
        // valid hint or the hint belongs to someone other than the signed-in user. Nobody signed in
        // here with a valid hint: nothing to end and nothing to ask, the RP gets its user back.
        var session = await current(ct);
        var hintIsThisUser = Guid.TryParse(hintSubject, out var hintUser) && (session is null || session.UserId == hintUser);
        if (!hintIsThisUser && !confirmed)
            return new Ask(redirect, parameters.Where(kv => kv.Key is "post_logout_redirect_uri" or "state" or "client_id" or "id_token_hint").ToList());
        return new SignOut(session is not null, redirect, parameters.GetValueOrDefault("state"));
    }

    /// <summary>
    /// Front-Channel Logout §2 (session supported): the RP's iframe names the session by sid. Without
    /// sid any link would sign out whoever follows it (RP-Initiated Logout §6), so it is required; and
    /// only the session whose cookie came with the request ends, only if sid names it.
    /// </summary>
    public static async Task<Decision> FrontChannelAsync(string? iss, string? sid, string issuer, Func<CancellationToken, Task<string?>> current,
        CancellationToken ct)
    {
        if (iss is not null && iss != issuer) return new Refused("The iss parameter names another issuer.");
        if (string.IsNullOrEmpty(sid)) return new Refused("The sid parameter is required.");
        var currentSid = await current(ct);
        var ends = currentSid is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(currentSid), Encoding.UTF8.GetBytes(sid));
        return new SignOut(ends, null, null);
    }
}
