using Authly.Clients;
using Authly.Configuration;
using Authly.OAuth;
using Authly.Scopes;

namespace Authly.Authorization;

/// <summary>
/// Validates an authorization request in two stages: client_id and redirect_uri first (a refusal
/// is shown, never redirected: RFC 6749 §4.1.2.1); then everything else (failures →
/// <see cref="OAuthException"/>, which <see cref="AuthorizeFlow"/> redirects to the validated redirect_uri).
/// </summary>
public sealed class AuthorizeValidator(ClientStore clients, ScopeStore scopeStore, AuthlyOptions options, Tokens.JwtIssuer jwt)
{
    private static readonly HashSet<string> PromptValues = ["none", "login", "consent", "select_account"];

    public sealed record Trusted(Client Client, string RedirectUri, string? State, string ResponseMode)
    {
        /// <summary>The request was pushed (RFC 9126): validated at the PAR endpoint, or resolved from <see cref="RequestUri"/>.</summary>
        public bool Pushed { get; init; }
        /// <summary>The request_uri the parameters came from, which the issued code consumes; null otherwise.</summary>
        public string? RequestUri { get; init; }
    }

    /// <summary>The client and redirect URI, or why they cannot be trusted (a message shown to the user, never redirected).</summary>
    public async Task<(Trusted? Trusted, string? Refusal)> TrustAsync(IReadOnlyDictionary<string, string> p, CancellationToken ct)
    {
        if (!p.TryGetValue("client_id", out var clientId) || clientId.Length == 0) return (null, "The request has no client_id.");
        var client = await clients.FindActiveAsync(clientId, ct);
        if (client is null) return (null, "The client is unknown or disabled.");
        if (!client.AllowsGrant(GrantTypes.AuthorizationCode)) return (null, "The client is not allowed to use the authorization code flow.");
        string redirectUri;
        if (p.TryGetValue("redirect_uri", out var given) && given.Length > 0)
        {
            if (!ClientRules.MatchesRegisteredRedirectUri(client.RedirectUris, given))
                return (null, "The redirect_uri is not registered for this client.");
            redirectUri = given;
        }
        else if (client.RedirectUris.Length == 1) redirectUri = client.RedirectUris[0];
        else return (null, "The request has no redirect_uri and the client has several registered.");
        p.TryGetValue("state", out var state);
        var mode = p.TryGetValue("response_mode", out var m) && m == "form_post" ? "form_post" : "query";
        return (new Trusted(client, redirectUri, state is { Length: > 0 } ? state : null, mode), null);
    }

    public async Task<AuthorizeRequest> ValidateAsync(Trusted t, IReadOnlyDictionary<string, string> p, CancellationToken ct)
    {
        if (p.TryGetValue("response_mode", out var mode) && mode is not ("query" or "form_post"))
            throw OAuthException.InvalidRequest("response_mode must be query or form_post");
        // OAuth 2.1 §4.1.1: only the code response type.
        if (!p.TryGetValue("response_type", out var responseType) || responseType.Length == 0)
            throw OAuthException.InvalidRequest("response_type is required");
        if (responseType != "code") throw new OAuthException(OAuthErrors.UnsupportedResponseType, "Only response_type=code is supported");
        if (p.TryGetValue("request", out _) || p.TryGetValue("request_uri", out _))
            throw new OAuthException(OAuthErrors.RequestNotSupported, "Request objects are not supported");
        // RFC 9126 §5 (per client and server-wide), FAPI 2.0 Security Profile §5.3.2.2: only pushed requests.
        if (!t.Pushed && (options.RequirePushedAuthorizationRequests || t.Client.RequirePushedAuthorizationRequests || Fapi2Profile.AppliesTo(options, t.Client)))
            throw OAuthException.InvalidRequest("This client must push its authorization requests to the PAR endpoint (RFC 9126)");

        // RFC 7636 §4.3 / OAuth 2.1: PKCE with S256 for every client.
        if (!p.TryGetValue("code_challenge", out var challenge) || challenge.Length == 0)
            throw OAuthException.InvalidRequest("code_challenge is required (PKCE, S256)");
        if (!Pkce.IsWellFormed(challenge)) throw OAuthException.InvalidRequest("code_challenge must be 43-128 characters of [A-Za-z0-9-._~]");
        if (!p.TryGetValue("code_challenge_method", out var method) || method != Pkce.S256)
            throw OAuthException.InvalidRequest("code_challenge_method must be S256");

        var requested = ScopeSet.Parse(p.GetValueOrDefault("scope"));
        var active = await scopeStore.ActiveAsync(ct);
        if (requested.Count == 0) throw OAuthException.InvalidScope("scope is required");
        var unknown = requested.Where(s => !active.ContainsKey(s) || !t.Client.Scopes.Contains(s, StringComparer.Ordinal)).ToList();
        if (unknown.Count > 0) throw OAuthException.InvalidScope("The requested scope is not allowed for this client", string.Join(' ', unknown));

        var prompt = new HashSet<string>(p.GetValueOrDefault("prompt")?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [], StringComparer.Ordinal);
        if (prompt.Any(v => !PromptValues.Contains(v))) throw OAuthException.InvalidRequest("prompt has an unknown value");
        // OIDC Core §3.1.2.1: none must not be combined with other values.
        if (prompt.Contains("none") && prompt.Count > 1) throw OAuthException.InvalidRequest("prompt=none cannot be combined with other values");

        int? maxAge = null;
        if (p.TryGetValue("max_age", out var maxAgeText) && maxAgeText.Length > 0)
        {
            if (!int.TryParse(maxAgeText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v))
                throw OAuthException.InvalidRequest("max_age must be a non-negative integer");
            maxAge = v;
        }
        var nonce = p.GetValueOrDefault("nonce");
        if (nonce is { Length: > 512 }) throw OAuthException.InvalidRequest("nonce is too long");
        // The nonce is stored with the code; control characters (NUL cannot even be stored) are refused.
        if (nonce is not null && nonce.Any(char.IsControl)) throw OAuthException.InvalidRequest("nonce must not contain control characters");
        if (t.State is { Length: > 2048 }) throw OAuthException.InvalidRequest("state is too long");
        var acrValues = p.GetValueOrDefault("acr_values") ?? "";
        if (acrValues.Length > 1024) throw OAuthException.InvalidRequest("acr_values is too long");
        // RFC 8707 §2: the resources the token is meant for, each registered for the client (the token request may narrow them).
        var resources = ResourceIndicators.CheckAllowed(ResourceIndicators.Parse(p.GetValueOrDefault(Parameters.Resource)), t.Client, jwt.Audience);
        return new AuthorizeRequest(t.Client, t.RedirectUri, t.State, t.ResponseMode, requested, challenge, nonce is { Length: > 0 } ? nonce : null,
            prompt, maxAge, p.GetValueOrDefault("login_hint"), p)
        {
            AcrValues = acrValues.Split(' ', StringSplitOptions.RemoveEmptyEntries),
            Resources = resources,
        };
    }
}
