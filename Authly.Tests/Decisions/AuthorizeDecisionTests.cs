using Authly.Authorization;
using Authly.OAuth;
using Authly.Tests.Infrastructure;
using Authly.Users;
using Microsoft.Extensions.DependencyInjection;

namespace Authly.Tests.Decisions;

/// <summary>
/// The authorization endpoint's decision (RFC 6749 §4.1, OIDC Core §3.1.2), one row per case, driven
/// through <see cref="AuthorizeFlow.DecideAsync"/> directly against the real stores: what the request,
/// the browser's session and the consent answer lead to. The HTTP tests (OidcCore, Rfc6749, Rfc7636,
/// Rfc9207) show that the endpoint renders each decision.
/// </summary>
[TestFixture, Category("OIDC")]
public sealed class AuthorizeDecisionTests
{
    private const string Redirect = "https://rp.example/cb";
    private const string OtherRedirect = "https://rp.example/other";
    private AuthlyApp _app = null!;
    private AuthorizeFlow _flow = null!;
    private string _client = null!;
    private string _twoRedirects = null!;
    private string _adminScope = null!;

    public enum Session { None, Fresh, LongAgo, MustChangePassword, Admin }
    public enum Client { Normal, TwoRedirectUris, WithAdminScope }
    public enum Answer { None, Approved, Denied, Forged }

    /// <param name="Consented">Scopes the user consented to for this client before the request.</param>
    /// <param name="Changes">Parameters replaced in (or, with a null value, removed from) a valid request for openid profile.</param>
    /// <param name="Scopes">For a consent page or an issued code: the scopes it names.</param>
    public sealed record Case(string Name, Session Session, Type Decision, string? Error = null, Client Client = Client.Normal,
        string? Consented = null, Answer Answer = Answer.None, string? Scopes = null, params (string Key, string? Value)[] Changes)
    {
        public override string ToString() => Name;
    }

    private static IEnumerable<TestCaseData> Cases() => new Case[]
    {
        new("no session → login page", Session.None, typeof(AuthorizeFlow.ShowLogin)),
        new("session, must change password → password page", Session.MustChangePassword, typeof(AuthorizeFlow.ChangePassword)),
        new("OIDC Core §3.1.2.6: prompt=none, no session → login_required redirect", Session.None, typeof(AuthorizeFlow.ErrorRedirect),
            OAuthErrors.LoginRequired, Changes: [("prompt", "none")]),
        new("OIDC Core §3.1.2.6: prompt=none, must change password → interaction_required", Session.MustChangePassword,
            typeof(AuthorizeFlow.ErrorRedirect), OAuthErrors.InteractionRequired, Changes: [("prompt", "none")]),
        new("OIDC Core §3.1.2.6: prompt=none, consent needed → consent_required", Session.Fresh, typeof(AuthorizeFlow.ErrorRedirect),
            OAuthErrors.ConsentRequired, Changes: [("prompt", "none")]),
        new("prompt=none, consent given before → code", Session.Fresh, typeof(AuthorizeFlow.CodeIssued), Consented: "openid profile",
            Scopes: "openid profile", Changes: [("prompt", "none")]),
        new("OIDC Core §3.1.2.1: prompt=login with a live session → login page", Session.Fresh, typeof(AuthorizeFlow.ShowLogin),
            Consented: "openid profile", Changes: [("prompt", "login")]),
        new("OIDC Core §3.1.2.1: max_age exceeded → login page", Session.LongAgo, typeof(AuthorizeFlow.ShowLogin), Consented: "openid profile",
            Changes: [("max_age", "60")]),
        new("max_age exceeded with prompt=none → login_required", Session.LongAgo, typeof(AuthorizeFlow.ErrorRedirect), OAuthErrors.LoginRequired,
            Consented: "openid profile", Changes: [("max_age", "60"), ("prompt", "none")]),
        new("max_age not exceeded → code", Session.Fresh, typeof(AuthorizeFlow.CodeIssued), Consented: "openid profile", Scopes: "openid profile",
            Changes: [("max_age", "3600")]),
        new("OIDC Core §3.1.2.4: consent given before → code", Session.Fresh, typeof(AuthorizeFlow.CodeIssued), Consented: "openid profile",
            Scopes: "openid profile"),
        new("consent for a superset given before → code for the request", Session.Fresh, typeof(AuthorizeFlow.CodeIssued),
            Consented: "openid profile email", Scopes: "openid profile"),
        new("a scope not consented before → consent page", Session.Fresh, typeof(AuthorizeFlow.ShowConsent), Consented: "openid",
            Scopes: "openid profile"),
        new("prompt=consent asks although consent was given", Session.Fresh, typeof(AuthorizeFlow.ShowConsent), Consented: "openid profile",
            Scopes: "openid profile", Changes: [("prompt", "consent")]),
        new("consent approved → code, and a fresh login is not asked again", Session.LongAgo, typeof(AuthorizeFlow.CodeIssued),
            Answer: Answer.Approved, Scopes: "openid profile", Changes: [("max_age", "60")]),
        new("RFC 6749 §4.1.2.1: consent denied → access_denied", Session.Fresh, typeof(AuthorizeFlow.ErrorRedirect), OAuthErrors.AccessDenied,
            Answer: Answer.Denied),
        new("consent answer without a valid CSRF token → form expired, nothing decided", Session.Fresh, typeof(AuthorizeFlow.FormExpired),
            Answer: Answer.Forged),
        new("consent answer without a session → login page", Session.None, typeof(AuthorizeFlow.ShowLogin), Answer: Answer.Approved),
        new("RFC 6749 §4.1.2.1: no client_id → shown, never redirected", Session.Fresh, typeof(AuthorizeFlow.Refused),
            Changes: [("client_id", null)]),
        new("RFC 6749 §4.1.2.1: unknown client → shown, never redirected", Session.Fresh, typeof(AuthorizeFlow.Refused),
            Changes: [("client_id", "no-such-client")]),
        new("RFC 6749 §4.1.2.1: unregistered redirect_uri → shown, never redirected", Session.Fresh, typeof(AuthorizeFlow.Refused),
            Changes: [("redirect_uri", "https://attacker.example/cb")]),
        new("RFC 6749 §3.1.2.3: no redirect_uri and several registered → shown, never redirected", Session.Fresh, typeof(AuthorizeFlow.Refused),
            Client: Client.TwoRedirectUris, Changes: [("redirect_uri", null)]),
        new("one redirect_uri registered, none given → it is used", Session.Fresh, typeof(AuthorizeFlow.CodeIssued), Consented: "openid profile",
            Scopes: "openid profile", Changes: [("redirect_uri", null)]),
        new("RFC 6749 §4.1.2.1: response_type=token → unsupported_response_type redirect", Session.Fresh, typeof(AuthorizeFlow.ErrorRedirect),
            OAuthErrors.UnsupportedResponseType, Changes: [("response_type", "token")]),
        new("no response_type → invalid_request redirect", Session.Fresh, typeof(AuthorizeFlow.ErrorRedirect), OAuthErrors.InvalidRequest,
            Changes: [("response_type", null)]),
        new("RFC 7636 §4.4.1: no code_challenge → invalid_request redirect", Session.Fresh, typeof(AuthorizeFlow.ErrorRedirect),
            OAuthErrors.InvalidRequest, Changes: [("code_challenge", null)]),
        new("OAuth 2.1 §4.1.1: code_challenge_method=plain → invalid_request redirect", Session.Fresh, typeof(AuthorizeFlow.ErrorRedirect),
            OAuthErrors.InvalidRequest, Changes: [("code_challenge_method", "plain")]),
        new("OIDC Core §6: a request object → request_not_supported", Session.Fresh, typeof(AuthorizeFlow.ErrorRedirect),
            OAuthErrors.RequestNotSupported, Changes: [("request", "eyJhbGciOiJub25lIn0.e30.")]),
        new("a scope the client may not ask for → invalid_scope", Session.Fresh, typeof(AuthorizeFlow.ErrorRedirect), OAuthErrors.InvalidScope,
            Changes: [("scope", "openid write")]),
        new("a request is checked before the session: a bad request with no session → redirected error, not the login page", Session.None,
            typeof(AuthorizeFlow.ErrorRedirect), OAuthErrors.InvalidRequest, Changes: [("code_challenge", null)]),
        new("a scope the user may not hold is left off the consent page", Session.Fresh, typeof(AuthorizeFlow.ShowConsent),
            Client: Client.WithAdminScope, Scopes: "openid", Changes: [("scope", "openid admin:users:read")]),
        new("a scope the user may not hold is left out of the code", Session.Fresh, typeof(AuthorizeFlow.CodeIssued), Client: Client.WithAdminScope,
            Answer: Answer.Approved, Scopes: "openid", Changes: [("scope", "openid admin:users:read")]),
        new("an admin may hold an admin scope", Session.Admin, typeof(AuthorizeFlow.ShowConsent), Client: Client.WithAdminScope,
            Scopes: "openid admin:users:read", Changes: [("scope", "openid admin:users:read")]),
    }.Select(c => new TestCaseData(c).SetName("Authorize: " + c.Name));

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _app = await AuthlyApp.StartAsync();
        _flow = _app.Services.GetRequiredService<AuthorizeFlow>();
        _client = await BrowserFlow.CreatePublicClientAsync(_app, [Redirect]);
        _twoRedirects = await BrowserFlow.CreatePublicClientAsync(_app, [Redirect, OtherRedirect]);
        _adminScope = await BrowserFlow.CreatePublicClientAsync(_app, [Redirect], scope: "openid admin:users:read");
    }

    [OneTimeTearDown] public void Stop() => _app.Dispose();

    [TestCaseSource(nameof(Cases))]
    public async Task Decision(Case c)
    {
        var clientId = c.Client switch { Client.TwoRedirectUris => _twoRedirects, Client.WithAdminScope => _adminScope, _ => _client };
        var state = "st-" + Guid.NewGuid().ToString("N")[..8];
        var p = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["client_id"] = clientId, ["redirect_uri"] = Redirect, ["response_type"] = "code", ["scope"] = "openid profile", ["state"] = state,
            ["code_challenge"] = BrowserFlow.Challenge(BrowserFlow.NewVerifier()), ["code_challenge_method"] = "S256",
        };
        foreach (var (key, value) in c.Changes)
            if (value is null) p.Remove(key); else p[key] = value;

        var user = c.Session == Session.None ? null : await UserAsync(c.Session);
        if (user is not null && c.Consented is not null)
            await _app.Services.GetRequiredService<ConsentStore>().GrantAsync(user.Id, clientId, c.Consented.Split(' '), CancellationToken.None);
        var authTime = c.Session == Session.LongAgo ? DateTime.UtcNow.AddHours(-2) : DateTime.UtcNow.AddSeconds(-5);
        var signedIn = user is null ? null : new AuthorizeFlow.SignedIn(user, authTime, "sid-" + Guid.NewGuid().ToString("N"), Authly.Mfa.AuthenticationMethods.AfterPassword);
        var answer = c.Answer switch
        {
            Answer.Approved => new AuthorizeFlow.ConsentAnswer(true, true),
            Answer.Denied => new AuthorizeFlow.ConsentAnswer(false, true),
            Answer.Forged => new AuthorizeFlow.ConsentAnswer(true, false),
            _ => null,
        };

        var decision = await _flow.DecideAsync(p, _ => Task.FromResult(signedIn), answer, CancellationToken.None);

        Assert.That(decision, Is.TypeOf(c.Decision), decision.ToString());
        if (decision is AuthorizeFlow.Refused)
            Assert.That(decision.Trusted, Is.Null, "RFC 6749 §4.1.2.1: an untrusted redirect URI is never used");
        else
            Assert.That(decision.Trusted!.RedirectUri, Is.EqualTo(Redirect));
        if (decision is AuthorizeFlow.Redirect redirect)
        {
            // RFC 6749 §4.1.2 / RFC 9207: state and iss go with every result.
            Assert.That(redirect.Fields, Does.Contain(new KeyValuePair<string, string>("state", state)));
            Assert.That(redirect.Fields, Does.Contain(new KeyValuePair<string, string>("iss", AuthlyApp.Issuer)));
        }
        if (c.Error is not null)
            Assert.That(((AuthorizeFlow.ErrorRedirect)decision).Error, Is.EqualTo(c.Error));
        if (c.Scopes is not null)
        {
            var scopes = decision switch
            {
                AuthorizeFlow.ShowConsent consent => consent.Scopes,
                AuthorizeFlow.CodeIssued issued => issued.Scopes,
                _ => throw new AssertionException($"{decision} names no scopes"),
            };
            Assert.That(scopes, Is.EquivalentTo(c.Scopes.Split(' ')));
        }
        if (decision is AuthorizeFlow.CodeIssued code)
        {
            var stored = await _app.SqlScalarAsync<string>("SELECT scope FROM authorization_codes WHERE code_hash = @Hash",
                new { Hash = Security.OpaqueToken.Hash(code.Code) });
            Assert.That(stored.Split(' '), Is.EquivalentTo(code.Scopes), "the code stored is the code decided");
        }
    }

    private async Task<User> UserAsync(Session session)
    {
        var created = await _app.CreateUserAsync(isAdmin: session == Session.Admin, requiresPasswordChange: session == Session.MustChangePassword);
        return await _app.Services.GetRequiredService<UserStore>().FindByIdAsync(created.Id, CancellationToken.None)
               ?? throw new AssertionException("the user just created is not found");
    }
}
