using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Threat class: who is signed in at the browser, and whether a form really came from that browser.
/// Issue #11 findings 1 (an access token signed a browser in) and 8 (CSRF pairs not bound to the
/// session). Every test is an attack that must fail for the attacker and leave nothing behind.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class SessionAndCsrfAttacks : AppFixture
{
    private const string Redirect = "https://rp.example/cb";
    private const string DeviceGrant = "urn:ietf:params:oauth:grant-type:device_code";
    private const string CsrfCookie = "authly_csrf";
    /// <summary>The client whose consent the attacker wants (broad scopes).</summary>
    private string _target = null!;
    /// <summary>A third-party client that holds one of the user's access tokens.</summary>
    private string _thirdParty = null!;
    private string _deviceClient = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _target = await BrowserFlow.CreatePublicClientAsync(_app, [Redirect], name: "Target RP");
        _thirdParty = await BrowserFlow.CreatePublicClientAsync(_app, [Redirect], scope: "openid vault:read vault:write", name: "Third party");
        (_deviceClient, _) = await _app.CreateClientAsync(new { client_name = "TV", client_type = "public", scope = "openid", grant_types = new[] { DeviceGrant } });
    }

    private BrowserFlow.Request TargetRequest(IReadOnlyDictionary<string, string?>? extra = null) =>
        new(_target, Redirect, "openid profile email offline_access") { Extra = extra ?? new Dictionary<string, string?>() };

    /// <summary>An access token of the user, issued to a third-party client through the code flow (in the user's own browser).</summary>
    private async Task<string> ThirdPartyTokenAsync(TestUsers.TestUser user, string scope = "openid")
    {
        using var usersBrowser = new BrowserFlow(_app);
        return AuthlyApp.Str(await usersBrowser.TokensAsync(new BrowserFlow.Request(_thirdParty, Redirect, scope), user), "access_token");
    }

    /// <summary>The attacker's user agent: a cookie jar of its own and the stolen or third-party bearer token on every request.</summary>
    private BrowserFlow AttackerWithBearer(string token)
    {
        var attacker = new BrowserFlow(_app);
        attacker.Http.DefaultRequestHeaders.Authorization = BrowserFlow.Bearer(token);
        return attacker;
    }

    private async Task<long> CountAsync(string table, Guid userId)
    {
        // Table names come from the tests below, never from input.
        using var browser = new BrowserFlow(_app);
        return await browser.ScalarAsync<long>($"SELECT count(*) FROM {table} WHERE user_id = @Id", new { Id = userId });
    }

    private async Task<long> TargetConsentsAsync(Guid userId)
    {
        using var browser = new BrowserFlow(_app);
        return await browser.ScalarAsync<long>("SELECT count(*) FROM consents WHERE user_id = @Id AND client_id = @Client", new { Id = userId, Client = _target });
    }

    private static bool CarriesCode(HttpResponseMessage response) =>
        response.Headers.Location is { } l && l.OriginalString.StartsWith(Redirect, StringComparison.Ordinal) && BrowserFlow.Query(l).ContainsKey("code");

    private async Task<(string UserCode, string DeviceCode)> StartDeviceAsync()
    {
        var body = await AuthlyApp.JsonAsync(await _app.PostFormAsync("/api/v1/oauth/device_authorization", ("client_id", _deviceClient), ("scope", "openid")));
        return (AuthlyApp.Str(body, "user_code"), AuthlyApp.Str(body, "device_code"));
    }

    private async Task<string> PollDeviceAsync(string deviceCode)
    {
        var poll = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", DeviceGrant), ("device_code", deviceCode), ("client_id", _deviceClient));
        var body = await AuthlyApp.JsonAsync(poll);
        return body.ContainsKey("access_token") ? "approved" : AuthlyApp.Str(body, "error");
    }

    /// <summary>An anonymous CSRF pair (cookie value, form token), as an attacker fetches it from the login page in their own browser.</summary>
    private async Task<(string Cookie, string Token)> AnonymousCsrfPairAsync()
    {
        using var attacker = new BrowserFlow(_app);
        var html = await BrowserFlow.HtmlAsync(await attacker.GetAsync("/login"));
        return (attacker.Cookie(CsrfCookie) ?? throw new AssertionException("no CSRF cookie"), BrowserFlow.HiddenFields(html)["csrf_token"]);
    }

    // ---- finding 1: an access token is not a browser session ----

    [Test, Description("RFC 9700 §4.10 (misuse of access tokens): a third-party token on GET /authorize for another client gets the login page, not consent")]
    public async Task BearerOnAuthorizeGet_ForAnotherClient_ShowsLoginNotConsent()
    {
        var user = await _app.RegisterUserAsync();
        using var attacker = AttackerWithBearer(await ThirdPartyTokenAsync(user));
        var html = await BrowserFlow.HtmlAsync(await attacker.GetAsync(TargetRequest().Url));
        Assert.That(BrowserFlow.IsConsentPage(html), Is.False, "the token must not open the user's consent page");
        Assert.That(BrowserFlow.IsLoginPage(html), Is.True, "an anonymous browser is asked to sign in");
    }

    [Test, Description("RFC 9700 §4.10: approving consent with a third-party token (GET + POST /authorize) issues no code and records no consent")]
    public async Task BearerOnAuthorizePost_Approval_IssuesNoCodeAndNoConsent()
    {
        var user = await _app.RegisterUserAsync();
        var token = await ThirdPartyTokenAsync(user);
        var codesBefore = await CountAsync("authorization_codes", user.Id);
        using var attacker = AttackerWithBearer(token);
        var request = TargetRequest();
        var page = await BrowserFlow.HtmlAsync(await attacker.GetAsync(request.Url));
        var fields = request.Parameters.ToDictionary(kv => kv.Key, kv => kv.Value);
        fields["csrf_token"] = BrowserFlow.HiddenFields(page)["csrf_token"]; // a valid pair for the attacker's own cookie jar
        fields["approved"] = "true";
        var response = await attacker.PostFormAsync("/api/v1/oauth/authorize", fields);
        Assert.Multiple(async () =>
        {
            Assert.That(CarriesCode(response), Is.False, "no code for the attacker");
            Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain("name=\"code\""));
            Assert.That(await CountAsync("authorization_codes", user.Id), Is.EqualTo(codesBefore));
            Assert.That(await TargetConsentsAsync(user.Id), Is.Zero, "no consent recorded for the target client");
        });
    }

    [Test, Description("RFC 9700 §4.10, OIDC Core §3.1.2.1: prompt=none with a third-party token is login_required even where the user consented")]
    public async Task BearerOnAuthorize_WithPromptNoneAndExistingConsent_IsLoginRequired()
    {
        var user = await _app.RegisterUserAsync();
        using (var usersBrowser = new BrowserFlow(_app)) await usersBrowser.CodeAsync(TargetRequest(), user); // the user really consented once
        var token = await ThirdPartyTokenAsync(user);
        var codesBefore = await CountAsync("authorization_codes", user.Id);
        using var attacker = AttackerWithBearer(token);
        var response = await attacker.GetAsync(TargetRequest(new Dictionary<string, string?> { ["prompt"] = "none" }).Url);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var query = BrowserFlow.Query(response.Headers.Location!);
        Assert.Multiple(async () =>
        {
            Assert.That(query.ContainsKey("code"), Is.False);
            Assert.That(query.GetValueOrDefault("error"), Is.EqualTo("login_required"));
            Assert.That(await CountAsync("authorization_codes", user.Id), Is.EqualTo(codesBefore));
        });
    }

    [Test, Description("RFC 9700 §4.10, RFC 8628 §5.4: a token on /device (GET, POST) and /device/confirm approves no device")]
    public async Task BearerOnDevicePages_ApprovesNoDevice()
    {
        var user = await _app.RegisterUserAsync();
        var (userCode, deviceCode) = await StartDeviceAsync();
        using var attacker = AttackerWithBearer(await ThirdPartyTokenAsync(user));

        var shown = await BrowserFlow.HtmlAsync(await attacker.GetAsync("/device?user_code=" + Uri.EscapeDataString(userCode)));
        Assert.That(shown, Does.Not.Contain("action=\"/device/confirm\""), "GET /device: no confirmation page for a token");
        Assert.That(BrowserFlow.IsLoginPage(shown), Is.True);

        var csrf = BrowserFlow.HiddenFields(shown)["csrf_token"];
        var entered = await BrowserFlow.HtmlAsync(await attacker.PostFormAsync("/device",
            new Dictionary<string, string> { ["csrf_token"] = csrf, ["user_code"] = userCode }));
        Assert.That(entered, Does.Not.Contain("action=\"/device/confirm\""), "POST /device: no confirmation page for a token");

        var fields = BrowserFlow.HiddenFields(shown);
        fields["user_code"] = userCode;
        fields["approved"] = "true";
        var confirmed = await attacker.PostFormAsync("/device/confirm", fields);
        Assert.Multiple(async () =>
        {
            Assert.That(await confirmed.Content.ReadAsStringAsync(), Does.Not.Contain("Device connected"));
            Assert.That(await PollDeviceAsync(deviceCode), Is.EqualTo("authorization_pending"), "the device is not approved");
        });
    }

    [Test, Description("RFC 9700 §4.10: even a vault:write token does not start the browser's vault connect flow; the login page comes first")]
    public async Task BearerOnVaultConnect_StartsNoConnectFlow()
    {
        var user = await _app.RegisterUserAsync();
        using var attacker = AttackerWithBearer(await ThirdPartyTokenAsync(user, "openid vault:read vault:write"));
        const string connect = "/api/v1/vault/connect/authly?purpose=stolen";
        var response = await attacker.GetAsync(connect);
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await response.Content.ReadAsStringAsync());
            Assert.That(response.Headers.Location?.OriginalString, Is.EqualTo("/login?return_to=" + Uri.EscapeDataString(connect)),
                "as for an anonymous browser");
            Assert.That(await CountAsync("vault_connect_states", user.Id), Is.Zero, "no connect flow was started");
        });
    }

    [Test, Description("RFC 9700 §4.10: a token does not drive the password change form (/login/password); the password stays")]
    public async Task BearerOnChangePasswordForm_ChangesNothing()
    {
        var user = await _app.RegisterUserAsync();
        using var attacker = AttackerWithBearer(await ThirdPartyTokenAsync(user));
        using var db = new BrowserFlow(_app);
        var hashBefore = await db.ScalarAsync<string>("SELECT password_hash FROM users WHERE id = @Id", new { user.Id });
        var login = await BrowserFlow.HtmlAsync(await attacker.GetAsync("/login"));
        var response = await attacker.PostFormAsync("/login/password", new Dictionary<string, string>
        {
            ["csrf_token"] = BrowserFlow.HiddenFields(login)["csrf_token"], ["current_password"] = user.Password,
            ["new_password"] = "Attacker-Chosen-1", ["confirm_password"] = "Attacker-Chosen-1", ["return_to"] = "/",
        });
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), await response.Content.ReadAsStringAsync());
            Assert.That(BrowserFlow.IsLoginPage(await response.Content.ReadAsStringAsync()), Is.True);
            Assert.That(await db.ScalarAsync<string>("SELECT password_hash FROM users WHERE id = @Id", new { user.Id }), Is.EqualTo(hashBefore));
        });
    }

    // ---- finding 8: a CSRF pair belongs to one browser's session ----

    [Test, Description("RFC 9700 §4.7, RFC 6749 §10.12: a CSRF pair fetched anonymously, its cookie planted in a signed-in victim's browser, approves nothing")]
    public async Task AnonymousCsrfPair_PlantedInSignedInVictim_ConsentIsRefused()
    {
        var victim = await _app.RegisterUserAsync();
        var (cookie, token) = await AnonymousCsrfPairAsync();
        using var browser = new BrowserFlow(_app);
        var consent = await BrowserFlow.HtmlAsync(await browser.SignInAsync(TargetRequest(), victim));
        browser.PlantCookie(CsrfCookie, cookie);
        var response = await browser.DecideAsync(consent, approve: true, f => f["csrf_token"] = token);
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(CarriesCode(response), Is.False);
            Assert.That(await CountAsync("authorization_codes", victim.Id), Is.Zero);
            Assert.That(await TargetConsentsAsync(victim.Id), Is.Zero);
        });
    }

    [Test, Description("RFC 9700 §4.7, RFC 8628 §5.4: an anonymous CSRF pair planted in a signed-in victim's browser does not approve the attacker's device")]
    public async Task AnonymousCsrfPair_PlantedInSignedInVictim_DoesNotApproveAttackersDevice()
    {
        var (userCode, deviceCode) = await StartDeviceAsync();
        var (cookie, token) = await AnonymousCsrfPairAsync();
        using var victim = new BrowserFlow(_app);
        await victim.SignInDirectlyAsync(await _app.RegisterUserAsync());
        victim.PlantCookie(CsrfCookie, cookie);
        var response = await victim.PostFormAsync("/device/confirm", new Dictionary<string, string>
        {
            ["csrf_token"] = token, ["user_code"] = userCode, ["approved"] = "true",
        });
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(await PollDeviceAsync(deviceCode), Is.EqualTo("authorization_pending"));
        });
    }

    [Test, Description("RFC 9700 §4.7: a pair planted before login (login-time rotation) is refused after the victim signs in")]
    public async Task CsrfPairPlantedBeforeLogin_IsRefusedAfterLogin()
    {
        var victim = await _app.RegisterUserAsync();
        var (cookie, token) = await AnonymousCsrfPairAsync();
        using var browser = new BrowserFlow(_app);
        browser.PlantCookie(CsrfCookie, cookie);
        var consent = await BrowserFlow.HtmlAsync(await browser.SignInAsync(TargetRequest(), victim)); // the victim signs in normally
        Assert.That(browser.Cookie(CsrfCookie), Is.Not.EqualTo(cookie), "signing in replaces the pre-login CSRF cookie");
        browser.PlantCookie(CsrfCookie, cookie); // planted again after login: still no use
        var response = await browser.DecideAsync(consent, approve: true, f => f["csrf_token"] = token);
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(await CountAsync("authorization_codes", victim.Id), Is.Zero);
        });
    }

    [Test, Description("RFC 9700 §4.7: the token of the browser's own login page is not valid on forms after the login")]
    public async Task OwnPreLoginCsrfToken_ReplayedAfterLogin_IsRefused()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var login = await BrowserFlow.HtmlAsync(await browser.GetAsync(TargetRequest().Url));
        var preLogin = BrowserFlow.HiddenFields(login)["csrf_token"];
        var consent = await BrowserFlow.HtmlAsync(await browser.FollowAsync(await browser.SubmitLoginAsync(login, user.Username, user.Password)));
        var response = await browser.DecideAsync(consent, approve: true, f => f["csrf_token"] = preLogin);
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(await CountAsync("authorization_codes", user.Id), Is.Zero);
        });
        var honest = await browser.DecideAsync(consent, approve: true);
        Assert.That(CarriesCode(honest), Is.True, "the consent page's own token still works");
    }

    [Test, Description("RFC 9700 §4.7: the whole CSRF pair of signed-in browser A, planted in signed-in browser B, is refused in B")]
    public async Task CsrfPairOfSignedInBrowserA_PlantedInSignedInBrowserB_IsRefused()
    {
        var alice = await _app.RegisterUserAsync();
        var bob = await _app.RegisterUserAsync();
        using var a = new BrowserFlow(_app);
        var aConsent = await BrowserFlow.HtmlAsync(await a.SignInAsync(TargetRequest(), alice));
        var (aCookie, aToken) = (a.Cookie(CsrfCookie)!, BrowserFlow.HiddenFields(aConsent)["csrf_token"]);
        using var b = new BrowserFlow(_app);
        var bConsent = await BrowserFlow.HtmlAsync(await b.SignInAsync(TargetRequest(), bob));
        b.PlantCookie(CsrfCookie, aCookie);
        var response = await b.DecideAsync(bConsent, approve: true, f => f["csrf_token"] = aToken);
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(CarriesCode(response), Is.False);
            Assert.That(await CountAsync("authorization_codes", bob.Id), Is.Zero);
        });
    }
}
