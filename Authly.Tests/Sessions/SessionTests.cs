using System.Net;
using System.Security.Cryptography;
using System.Text;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Sessions;

/// <summary>The browser login session: the login page, its cookie, expiry, and failed logins counting toward lockout.</summary>
[TestFixture, Category("Sessions")]
public sealed class SessionTests : RelyingPartyFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "3" };

    private static string? SessionCookie(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? values.FirstOrDefault(v => v.StartsWith("authly_session=", StringComparison.Ordinal)) : null;

    private async Task<(BrowserFlow Browser, string Html)> LoginPageAsync()
    {
        var browser = new BrowserFlow(_app);
        var html = await BrowserFlow.HtmlAsync(await browser.GetAsync(new BrowserFlow.Request(_clientId, Redirect).Url));
        Assert.That(BrowserFlow.IsLoginPage(html), Is.True);
        return (browser, html);
    }

    [Test, Description("The session cookie is HttpOnly, SameSite=Lax, path /, not Secure on an http issuer; the redirect resumes the request")]
    public async Task Login_WithRightPassword_SetsHttpOnlyLaxCookieAndReturnsToRequest()
    {
        var user = await _app.RegisterUserAsync();
        var (browser, html) = await LoginPageAsync();
        using var _b = browser;
        var response = await browser.SubmitLoginAsync(html, user.Username, user.Password);
        var cookie = SessionCookie(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(response.Headers.Location!.OriginalString, Does.StartWith("/api/v1/oauth/authorize?"));
            Assert.That(cookie, Is.Not.Null);
            Assert.That(cookie, Does.Contain("httponly").IgnoreCase);
            Assert.That(cookie, Does.Contain("samesite=lax").IgnoreCase);
            Assert.That(cookie, Does.Contain("path=/").IgnoreCase);
            Assert.That(cookie, Does.Not.Contain("secure;").IgnoreCase.And.Not.EndWith("secure"));
        });
    }

    [Test, Description("Only a hash of the session secret is stored; the sid is not the cookie")]
    public async Task Login_StoresOnlyTheHashOfTheCookieSecret()
    {
        var user = await _app.RegisterUserAsync();
        var (browser, html) = await LoginPageAsync();
        using var _b = browser;
        var cookie = SessionCookie(await browser.SubmitLoginAsync(html, user.Username, user.Password))!;
        var secret = cookie.Split(';')[0]["authly_session=".Length..];
        var storedHash = await browser.ScalarAsync<byte[]>("SELECT id_hash FROM sessions WHERE user_id = @Id", new { user.Id });
        var sid = await browser.ScalarAsync<string>("SELECT sid FROM sessions WHERE user_id = @Id", new { user.Id });
        Assert.That(storedHash, Is.EqualTo(SHA256.HashData(Encoding.ASCII.GetBytes(secret))));
        Assert.That(sid, Is.Not.EqualTo(secret));
    }

    [Test, Description("A session cookie planted before login is not adopted (no session fixation)")]
    public async Task Login_WithPlantedSessionCookie_IssuesAFreshSecret()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        browser.Http.DefaultRequestHeaders.Add("Cookie", "authly_session=attacker-chosen-value-1234567890");
        var html = await BrowserFlow.HtmlAsync(await browser.GetAsync("/login"));
        var response = await browser.SubmitLoginAsync(html, user.Username, user.Password);
        var cookie = SessionCookie(response);
        Assert.That(cookie, Is.Not.Null);
        Assert.That(cookie, Does.Not.Contain("attacker-chosen-value"));
    }

    [Test, Description("OIDC Session Management: session/check reports the live session with sid and auth_time")]
    public async Task SessionCheck_AfterLogin_ReportsActiveSession()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        await browser.SignInDirectlyAsync(user);
        var body = await browser.SessionCheckAsync();
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.Multiple(() =>
        {
            Assert.That(body["active"]!.GetValue<bool>(), Is.True);
            Assert.That(AuthlyApp.Str(body, "sid"), Is.Not.Empty);
            Assert.That(body["auth_time"]!.GetValue<long>(), Is.InRange(now - 60, now + 5));
            Assert.That(AuthlyApp.Str(body, "session_state"), Is.Not.Empty);
        });
    }

    [TestCase("idle_expires_at", TestName = "Authorize_WithIdleExpiredSession_ShowsLoginPageAgain")]
    [TestCase("absolute_expires_at", TestName = "Authorize_WithAbsolutelyExpiredSession_ShowsLoginPageAgain")]
    [TestCase("ended_at", TestName = "Authorize_WithEndedSession_ShowsLoginPageAgain")]
    [Description("An expired or ended session is no session")]
    public async Task Authorize_WithExpiredSession_ShowsLoginPageAgain(string column)
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        await browser.CodeAsync(new BrowserFlow.Request(_clientId, Redirect), user);
        // Column names come from the test cases above, never from input.
        await browser.ExecuteSqlAsync($"UPDATE sessions SET {column} = now() - interval '1 minute' WHERE user_id = @Id", new { user.Id });
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.False);
        var html = await BrowserFlow.HtmlAsync(await browser.GetAsync(new BrowserFlow.Request(_clientId, Redirect).Url));
        Assert.That(BrowserFlow.IsLoginPage(html), Is.True);
    }

    [Test, Description("Using a session slides its idle expiry, never past the absolute one")]
    public async Task SessionUse_SlidesIdleExpiry()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        await browser.SignInDirectlyAsync(user);
        await browser.ExecuteSqlAsync("UPDATE sessions SET idle_expires_at = now() + interval '1 minute' WHERE user_id = @Id", new { user.Id });
        await browser.SessionCheckAsync();
        var idle = await browser.ScalarAsync<DateTime>("SELECT idle_expires_at FROM sessions WHERE user_id = @Id", new { user.Id });
        Assert.That(idle, Is.GreaterThan(DateTime.UtcNow.AddHours(1)));
    }

    [Test, Description("API.md: the same message for unknown users and wrong passwords; no session either way")]
    public async Task Login_UnknownUserAndWrongPassword_ShowTheSameMessage()
    {
        var user = await _app.RegisterUserAsync();
        var (b1, html1) = await LoginPageAsync();
        using var _1 = b1;
        var wrongPassword = await b1.SubmitLoginAsync(html1, user.Username, "Wrong-Password-1");
        var (b2, html2) = await LoginPageAsync();
        using var _2 = b2;
        var unknownUser = await b2.SubmitLoginAsync(html2, "nobody-" + Guid.NewGuid().ToString("N")[..8], "Wrong-Password-1");
        var page1 = await BrowserFlow.HtmlAsync(wrongPassword);
        var page2 = await BrowserFlow.HtmlAsync(unknownUser);
        Assert.Multiple(() =>
        {
            Assert.That(wrongPassword.StatusCode, Is.EqualTo(unknownUser.StatusCode));
            Assert.That((int)wrongPassword.StatusCode, Is.EqualTo(400));
            Assert.That(page1, Does.Contain("Incorrect username or password"));
            Assert.That(page2, Does.Contain("Incorrect username or password"));
            Assert.That(BrowserFlow.IsLoginPage(page1) && BrowserFlow.IsLoginPage(page2), Is.True, "the form is shown again");
            Assert.That(SessionCookie(wrongPassword), Is.Null);
            Assert.That(SessionCookie(unknownUser), Is.Null);
            Assert.That(wrongPassword.Headers.Location, Is.Null);
        });
    }

    [Test, Description("API.md: failures count toward lockout (AUTHLY_LOCKOUT_MAX_ATTEMPTS=3); then even the right password is refused")]
    public async Task Login_AfterMaxFailures_IsLockedEvenWithRightPassword()
    {
        var user = await _app.RegisterUserAsync();
        for (var i = 0; i < 3; i++)
        {
            var (b, html) = await LoginPageAsync();
            using var _ = b;
            Assert.That((await b.SubmitLoginAsync(html, user.Username, "Wrong-Password-" + i)).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        }
        var (browser, page) = await LoginPageAsync();
        using var _b = browser;
        var response = await browser.SubmitLoginAsync(page, user.Username, user.Password);
        var text = await BrowserFlow.HtmlAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(response.Headers.RetryAfter, Is.Not.Null);
            Assert.That(text, Does.Contain("Too many failed attempts. Account temporarily locked."));
            Assert.That(SessionCookie(response), Is.Null);
            Assert.That(response.Headers.Location, Is.Null);
        });
    }

    [Test, Description("API.md: lockout counts per username whether it exists or not, so it reveals nothing")]
    public async Task Login_ForUnknownUserAfterMaxFailures_IsLockedTheSameWay()
    {
        var name = "ghost-" + Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < 3; i++)
        {
            var (b, html) = await LoginPageAsync();
            using var _ = b;
            await b.SubmitLoginAsync(html, name, "Wrong-Password-1");
        }
        var (browser, page) = await LoginPageAsync();
        using var _b = browser;
        var response = await browser.SubmitLoginAsync(page, name, "Wrong-Password-1");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("Too many failed attempts. Account temporarily locked."));
    }

    [Test, Description("API.md: the login page and the password grant share one lockout per username")]
    public async Task PasswordGrant_AfterLoginPageFailures_IsLocked()
    {
        var user = await _app.RegisterUserAsync();
        for (var i = 0; i < 3; i++)
        {
            var (b, html) = await LoginPageAsync();
            using var _ = b;
            await b.SubmitLoginAsync(html, user.Username.ToUpperInvariant(), "Wrong-Password-1");
        }
        var response = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", user.Username), ("password", user.Password));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(response.Headers.RetryAfter, Is.Not.Null);
    }

    [Test, Description("API.md: an unverified account cannot start a session")]
    public async Task Login_ForUnverifiedUser_ShowsMessageAndStartsNoSession()
    {
        var name = "unv" + Guid.NewGuid().ToString("N")[..8];
        var registered = await _app.CreateClient().PostAsync("/api/v1/users/",
            new StringContent($"{{\"username\":\"{name}\",\"email\":\"{name}@example.com\",\"password\":\"User-Password-123\"}}", Encoding.UTF8, "application/json"));
        Assert.That(registered.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var (browser, html) = await LoginPageAsync();
        using var _b = browser;
        var response = await browser.SubmitLoginAsync(html, name, "User-Password-123");
        Assert.That(await BrowserFlow.HtmlAsync(response), Does.Contain("Account not verified"));
        Assert.That(SessionCookie(response), Is.Null);
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.False);
    }

    [TestCase("https://evil.example/")]
    [TestCase("//evil.example/")]
    [TestCase("/\\evil.example/")]
    [TestCase("javascript:alert(1)")]
    [TestCase("/admin/clients")]
    [Description("The login's return_to is never an open redirect: only our own authorize and device pages")]
    public async Task Login_WithForeignReturnTo_RedirectsHome(string returnTo)
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var html = await BrowserFlow.HtmlAsync(await browser.GetAsync("/login?return_to=" + Uri.EscapeDataString(returnTo)));
        var response = await browser.SubmitLoginAsync(html, user.Username, user.Password, f => f["return_to"] = returnTo);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(response.Headers.Location!.OriginalString, Is.EqualTo("/"));
    }

    [Test, Description("CSP form-action covers redirects after a submission: the login page of an authorization request allows its client's origin")]
    public async Task LoginPage_ForAuthorizationRequest_FormActionAllowsClientRedirectOrigin()
    {
        using var browser = new BrowserFlow(_app);
        var response = await browser.GetAsync(new BrowserFlow.Request(_clientId, Redirect).Url);
        Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("form-action 'self' https://rp.example;"));
    }

    [Test, Description("The login page shown again after a failure still allows the client's origin (its next submission may end there)")]
    public async Task LoginPage_AfterFailedAttempt_FormActionAllowsClientRedirectOrigin()
    {
        var user = await _app.RegisterUserAsync();
        var (browser, html) = await LoginPageAsync();
        using var _b = browser;
        var response = await browser.SubmitLoginAsync(html, user.Username, "Wrong-Password-1");
        Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("form-action 'self' https://rp.example;"));
    }

    [TestCase("/device")]
    [TestCase("/api/v1/oauth/authorize?client_id=nobody&redirect_uri=https%3A%2F%2Fevil.example%2F")]
    [TestCase("/api/v1/oauth/authorize?redirect_uri=https%3A%2F%2Fevil.example%2F&redirect_uri=https%3A%2F%2Frp.example%2Fcb")]
    [Description("A return_to that is not a valid authorization request never widens form-action")]
    public async Task LoginPage_WithoutTrustedAuthorizationRequest_FormActionIsSelfOnly(string returnTo)
    {
        using var browser = new BrowserFlow(_app);
        var response = await browser.GetAsync("/login?return_to=" + Uri.EscapeDataString(returnTo));
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.That(csp, Does.Contain("form-action 'self';"));
        Assert.That(csp, Does.Not.Contain("evil.example"));
    }

    [Test, Description("A return_to naming a client's unregistered redirect URI never widens form-action")]
    public async Task LoginPage_WithReturnToOfUnregisteredRedirect_FormActionIsSelfOnly()
    {
        using var browser = new BrowserFlow(_app);
        var returnTo = new BrowserFlow.Request(_clientId, "https://evil.example/cb").Url;
        var response = await browser.GetAsync("/login?return_to=" + Uri.EscapeDataString(returnTo));
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.That(csp, Does.Contain("form-action 'self';").And.Not.Contain("evil.example"));
    }

    [Test, Description("The login form is not cached and cannot be framed")]
    public async Task LoginPage_HasNoFramingAndNoInlineScript()
    {
        using var browser = new BrowserFlow(_app);
        var response = await browser.GetAsync("/login");
        var html = await BrowserFlow.HtmlAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.Headers.GetValues("X-Frame-Options").Single(), Is.EqualTo("DENY"));
            Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("frame-ancestors 'none'").And.Not.Contain("unsafe-inline"));
            Assert.That(html, Does.Not.Contain("<script>"));
        });
    }
}
