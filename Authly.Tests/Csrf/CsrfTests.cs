using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Csrf;

/// <summary>
/// Every state-changing form (login, consent, device confirmation, password change, logout) needs
/// the CSRF token bound to this browser's cookie; without it the request is refused and nothing changes.
/// </summary>
[TestFixture, Category("CSRF")]
public sealed class CsrfTests : RelyingPartyFixture
{
    private const string DeviceGrant = "urn:ietf:params:oauth:grant-type:device_code";
    private string _deviceClientId = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        (_deviceClientId, _) = await _app.CreateClientAsync(new { client_name = "TV", client_type = "public", scope = "openid", grant_types = new[] { DeviceGrant } });
    }

    /// <summary>How a forged form's token is made: left out, wrong, or valid for another browser.</summary>
    public enum Forgery { Missing, Wrong, FromAnotherBrowser }

    private async Task ForgeAsync(Dictionary<string, string> fields, Forgery forgery)
    {
        switch (forgery)
        {
            case Forgery.Missing: fields.Remove("csrf_token"); break;
            case Forgery.Wrong: fields["csrf_token"] = "AAAA" + fields["csrf_token"][4..]; break;
            case Forgery.FromAnotherBrowser:
                using (var attacker = new BrowserFlow(_app))
                    fields["csrf_token"] = BrowserFlow.HiddenFields(await BrowserFlow.HtmlAsync(await attacker.GetAsync("/login")))["csrf_token"];
                break;
        }
    }

    private static bool SetsSessionCookie(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) && values.Any(v => v.StartsWith("authly_session=", StringComparison.Ordinal));

    [TestCase(Forgery.Missing)]
    [TestCase(Forgery.Wrong)]
    [TestCase(Forgery.FromAnotherBrowser)]
    [Description("Login CSRF: a forged login form is refused; no session starts")]
    public async Task Login_WithForgedCsrfToken_IsRefusedAndStartsNoSession(Forgery forgery)
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var html = await BrowserFlow.HtmlAsync(await browser.GetAsync(new BrowserFlow.Request(_clientId, Redirect).Url));
        var fields = BrowserFlow.HiddenFields(html);
        await ForgeAsync(fields, forgery);
        fields["username"] = user.Username;
        fields["password"] = user.Password;
        var response = await browser.PostFormAsync("/login", fields);
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(response.Headers.Location, Is.Null);
            Assert.That(SetsSessionCookie(response), Is.False);
            Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.False);
            Assert.That(await browser.ScalarAsync<long>("SELECT count(*) FROM sessions WHERE user_id = @Id", new { user.Id }), Is.Zero);
        });
    }

    [Test, Description("Login CSRF: a form posted without the CSRF cookie (cross-site, SameSite=Strict) is refused")]
    public async Task Login_WithoutCsrfCookie_IsRefused()
    {
        var user = await _app.RegisterUserAsync();
        string token;
        using (var other = new BrowserFlow(_app))
            token = BrowserFlow.HiddenFields(await BrowserFlow.HtmlAsync(await other.GetAsync("/login")))["csrf_token"];
        var response = await _app.PostFormAsync("/login", ("csrf_token", token), ("username", user.Username), ("password", user.Password), ("return_to", "/"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(SetsSessionCookie(response), Is.False);
    }

    [Test, Description("The CSRF cookie is HttpOnly and SameSite=Strict")]
    public async Task CsrfCookie_IsHttpOnlyAndStrict()
    {
        var response = await _app.CreateClient().GetAsync("/login");
        var cookie = response.Headers.GetValues("Set-Cookie").Single(v => v.StartsWith("authly_csrf=", StringComparison.Ordinal));
        Assert.That(cookie, Does.Contain("httponly").IgnoreCase.And.Contain("samesite=strict").IgnoreCase);
    }

    [TestCase(Forgery.Missing)]
    [TestCase(Forgery.Wrong)]
    [TestCase(Forgery.FromAnotherBrowser)]
    [Description("Consent CSRF: a forged Allow is refused; no code, no remembered consent")]
    public async Task Consent_WithForgedCsrfToken_IsRefusedAndIssuesNoCode(Forgery forgery)
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var consent = await BrowserFlow.HtmlAsync(await browser.SignInAsync(new BrowserFlow.Request(_clientId, Redirect), user));
        var forged = BrowserFlow.HiddenFields(consent);
        await ForgeAsync(forged, forgery);
        var response = await browser.DecideAsync(consent, approve: true, f =>
        {
            f.Remove("csrf_token");
            if (forged.TryGetValue("csrf_token", out var t)) f["csrf_token"] = t;
        });
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(response.Headers.Location, Is.Null);
            Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain("name=\"code\""));
            Assert.That(await browser.ScalarAsync<long>("SELECT count(*) FROM authorization_codes WHERE user_id = @Id", new { user.Id }), Is.Zero);
            Assert.That(await browser.ScalarAsync<long>("SELECT count(*) FROM consents WHERE user_id = @Id", new { user.Id }), Is.Zero);
        });
    }

    [Test, Description("Consent CSRF: a forged Deny is refused too (no redirect with access_denied)")]
    public async Task ConsentDeny_WithoutCsrfToken_IsRefused()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var consent = await BrowserFlow.HtmlAsync(await browser.SignInAsync(new BrowserFlow.Request(_clientId, Redirect), user));
        var response = await browser.DecideAsync(consent, approve: false, f => f.Remove("csrf_token"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(response.Headers.Location, Is.Null);
    }

    private async Task<(string UserCode, string DeviceCode)> StartDeviceAsync()
    {
        var body = await AuthlyApp.JsonAsync(await _app.PostFormAsync("/api/v1/oauth/device_authorization", ("client_id", _deviceClientId), ("scope", "openid")));
        return (AuthlyApp.Str(body, "user_code"), AuthlyApp.Str(body, "device_code"));
    }

    [TestCase(Forgery.Missing)]
    [TestCase(Forgery.Wrong)]
    [TestCase(Forgery.FromAnotherBrowser)]
    [Description("Device CSRF: a forged approval is refused; the code stays pending")]
    public async Task DeviceConfirm_WithForgedCsrfToken_IsRefusedAndCodeStaysPending(Forgery forgery)
    {
        var (userCode, deviceCode) = await StartDeviceAsync();
        using var browser = new BrowserFlow(_app);
        await browser.SignInDirectlyAsync(await _app.RegisterUserAsync());
        var page = await BrowserFlow.HtmlAsync(await browser.GetAsync("/device?user_code=" + userCode));
        var fields = BrowserFlow.HiddenFields(page);
        await ForgeAsync(fields, forgery);
        fields["approved"] = "true";
        var response = await browser.PostFormAsync("/device/confirm", fields);
        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain("Device connected"));
            Assert.That(await browser.ScalarAsync<string>("SELECT status FROM device_codes WHERE user_code = @Code", new { Code = userCode.Replace("-", "") }),
                Is.EqualTo("pending"));
        });
        var poll = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", DeviceGrant), ("device_code", deviceCode), ("client_id", _deviceClientId));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(poll), "error"), Is.EqualTo("authorization_pending"));
    }

    [Test, Description("Device CSRF: the code entry form needs the token too")]
    public async Task DeviceEnter_WithoutCsrfToken_IsRefused()
    {
        var (userCode, _) = await StartDeviceAsync();
        using var browser = new BrowserFlow(_app);
        await browser.SignInDirectlyAsync(await _app.RegisterUserAsync());
        var response = await browser.PostFormAsync("/device", new Dictionary<string, string> { ["user_code"] = userCode });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain("action=\"/device/confirm\""));
    }

    [Test, Description("The forced password change form needs the token; the password stays")]
    public async Task ChangePasswordForm_WithoutCsrfToken_IsRefusedAndPasswordStays()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        await browser.SignInDirectlyAsync(user);
        var response = await browser.PostFormAsync("/login/password", new Dictionary<string, string>
        {
            ["current_password"] = user.Password, ["new_password"] = "Attacker-Pass-1", ["confirm_password"] = "Attacker-Pass-1", ["return_to"] = "/",
        });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        var login = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", user.Username), ("password", user.Password));
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the password did not change");
    }
    [Test, Description("The forced password change shown by the login response itself carries a token for the new session and its new CSRF cookie")]
    public async Task ForcedPasswordChange_ShownByTheLoginResponse_AcceptsItsOwnToken()
    {
        var user = await _app.CreateUserAsync(requiresPasswordChange: true);
        using var browser = new BrowserFlow(_app);
        var login = await BrowserFlow.HtmlAsync(await browser.GetAsync("/login?return_to=%2Fdevice"));
        var page = await BrowserFlow.HtmlAsync(await browser.SubmitLoginAsync(login, user.Username, user.Password));
        Assert.That(page, Does.Contain("action=\"/login/password\""));
        var fields = BrowserFlow.HiddenFields(page);
        fields["current_password"] = user.Password;
        fields["new_password"] = fields["confirm_password"] = "Brand-New-Pass-1";
        var response = await browser.PostFormAsync("/login/password", fields);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await response.Content.ReadAsStringAsync());
    }

    [Test, Description("Signing in and signing out each replace the CSRF cookie, so no pair outlives the session state it was made for")]
    public async Task LoginAndLogout_EachReplaceTheCsrfCookie()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var login = await BrowserFlow.HtmlAsync(await browser.GetAsync("/login?return_to=%2Fdevice"));
        var beforeLogin = browser.Cookie("authly_csrf");
        Assert.That((await browser.SubmitLoginAsync(login, user.Username, user.Password)).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var signedIn = browser.Cookie("authly_csrf");
        var confirm = await BrowserFlow.HtmlAsync(await browser.GetAsync("/oidc/logout"));
        Assert.That((await browser.PostFormAsync("/oidc/logout", BrowserFlow.HiddenFields(confirm))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.False);
        var signedOut = browser.Cookie("authly_csrf");
        Assert.That(new[] { beforeLogin, signedIn, signedOut }, Is.Unique.And.All.Not.Null);
    }
}
