using Authly.Scopes;

namespace Authly.Authorization;

/// <summary>An authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) after the client and redirect URI were validated.</summary>
public sealed record AuthorizeRequest(
    Clients.Client Client,
    string RedirectUri,
    string? State,
    string ResponseMode,
    IReadOnlySet<string> Scopes,
    string CodeChallenge,
    string? Nonce,
    IReadOnlySet<string> Prompt,
    int? MaxAge,
    string? LoginHint,
    IReadOnlyDictionary<string, string> Raw)
{
    /// <summary>OIDC Core §3.1.2.1 acr_values, in order of preference (unknown values are ignored, as the spec allows).</summary>
    public IReadOnlyList<string> AcrValues { get; init; } = [];

    /// <summary>RFC 8707 §2: the resources asked for, each allowed for the client; remembered with the code. Empty: the default audience.</summary>
    public IReadOnlyList<string> Resources { get; init; } = [];

    /// <summary>
    /// OIDC Core §3.1.2.1: the weakest acr of acr_values Authly knows is what the login must reach (a stronger
    /// one than the session has asks for the second factor again); null when none was asked for.
    /// </summary>
    public string? RequiredAcr => AcrValues.Where(v => Mfa.AuthenticationMethods.Strength(v) >= 0)
        .OrderBy(Mfa.AuthenticationMethods.Strength).FirstOrDefault();

    /// <summary>Whether a session with <paramref name="acr"/> is too weak for <see cref="RequiredAcr"/>.</summary>
    public bool NeedsStrongerAcr(string acr) =>
        RequiredAcr is { } required && Mfa.AuthenticationMethods.Strength(acr) < Mfa.AuthenticationMethods.Strength(required);

    public bool IsOpenId => Scopes.Contains(OidcScopes.OpenId);

    /// <summary>OIDC Core §3.1.2.1: prompt=login forces a fresh login; max_age bounds how old the login may be.</summary>
    public bool NeedsFreshLogin(DateTime authTime, DateTimeOffset now) =>
        Prompt.Contains("login") || (MaxAge is { } maxAge && now - new DateTimeOffset(authTime) > TimeSpan.FromSeconds(maxAge));

    public bool NeedsConsent(bool remembered) => Prompt.Contains("consent") || !remembered;

    /// <summary>
    /// The parameters that resume a request after the login page. OIDC Core §3.1.2.1: prompt=login
    /// and max_age ask for a fresh login, and the login about to happen is that login, so the
    /// resumed request must not ask again (max_age=0 would otherwise show the login page forever).
    /// </summary>
    public static Dictionary<string, string> ResumeAfterLogin(IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in parameters)
        {
            if (key == "max_age") continue;
            if (key == "prompt")
            {
                var rest = string.Join(' ', value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(v => v != "login"));
                if (rest.Length > 0) result[key] = rest;
                continue;
            }
            result[key] = value;
        }
        return result;
    }
}
