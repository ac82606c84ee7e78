using System.Net;
using Authly.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Authly.Tests.OidcCore;

/// <summary>OIDC Core §3.1.2.1 prompt and max_age, §3.1.2.6 their errors.</summary>
[TestFixture, Category("OIDC")]
public sealed class PromptAndMaxAgeTests : RelyingPartyFixture
{
    private BrowserFlow.Request Request(params (string Key, string? Value)[] extra) =>
        new(_clientId, Redirect) { Extra = extra.ToDictionary(e => e.Key, e => e.Value) };

    /// <summary>A browser with a session and remembered consent for the default scopes.</summary>
    private async Task<(BrowserFlow Browser, TestUsers.TestUser User)> SignedInAsync()
    {
        var user = await _app.RegisterUserAsync();
        var browser = new BrowserFlow(_app);
        await browser.CodeAsync(Request(), user);
        return (browser, user);
    }

    private static Dictionary<string, string> ErrorRedirect(HttpResponseMessage response, BrowserFlow.Request request, string error)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), response.Content.ReadAsStringAsync().Result);
        var q = BrowserFlow.Query(response.Headers.Location!);
        Assert.Multiple(() =>
        {
            Assert.That(response.Headers.Location!.GetLeftPart(UriPartial.Path), Is.EqualTo(Redirect));
            Assert.That(q["error"], Is.EqualTo(error));
            Assert.That(q["state"], Is.EqualTo(request.State));
            Assert.That(q["iss"], Is.EqualTo(AuthlyApp.Issuer));
            Assert.That(q.ContainsKey("code"), Is.False);
        });
        return q;
    }

    [Test, Description("OIDC Core §3.1.2.6: prompt=none without a session → login_required, no page")]
    public async Task PromptNone_WithoutSession_RedirectsLoginRequired()
    {
        using var browser = new BrowserFlow(_app);
        var request = Request(("prompt", "none"));
        ErrorRedirect(await browser.GetAsync(request.Url), request, "login_required");
    }

    [Test, Description("OIDC Core §3.1.2.6: prompt=none when consent is needed → consent_required")]
    public async Task PromptNone_WithSessionButNoConsent_RedirectsConsentRequired()
    {
        var (browser, _) = await SignedInAsync();
        using var _b = browser;
        var request = Request(("prompt", "none"), ("scope", "openid email phone"));
        ErrorRedirect(await browser.GetAsync(request.Url), request, "consent_required");
    }

    [Test, Description("OIDC Core §3.1.2.1: prompt=none with a session and consent → code, no page")]
    public async Task PromptNone_WithSessionAndConsent_RedirectsWithCode()
    {
        var (browser, _) = await SignedInAsync();
        using var _b = browser;
        var response = await browser.GetAsync(Request(("prompt", "none")).Url);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(BrowserFlow.Query(response.Headers.Location!).ContainsKey("code"), Is.True);
    }

    [Test, Description("OIDC Core §3.1.2.1: prompt=none with an expired session → login_required")]
    public async Task PromptNone_WithExpiredSession_RedirectsLoginRequired()
    {
        var (browser, user) = await SignedInAsync();
        using var _b = browser;
        await browser.ExecuteSqlAsync("UPDATE sessions SET idle_expires_at = now() - interval '1 minute' WHERE user_id = @Id", new { user.Id });
        var request = Request(("prompt", "none"));
        ErrorRedirect(await browser.GetAsync(request.Url), request, "login_required");
    }

    [Test, Description("OIDC Core §3.1.2.1: prompt=login forces the login page although a session exists")]
    public async Task PromptLogin_WithSession_ShowsLoginPageThenIssuesCodeWithNewAuthTime()
    {
        var (browser, user) = await SignedInAsync();
        using var _b = browser;
        await browser.ExecuteSqlAsync("UPDATE sessions SET auth_time = auth_time - interval '1 hour' WHERE user_id = @Id", new { user.Id });
        var oldAuthTime = (await browser.SessionCheckAsync())["auth_time"]!.GetValue<long>();
        var request = Request(("prompt", "login"));
        var page = await browser.GetAsync(request.Url);
        var html = await BrowserFlow.HtmlAsync(page);
        Assert.That(BrowserFlow.IsLoginPage(html), Is.True, "prompt=login must show the login page");
        Assert.That(page.Headers.Location, Is.Null);

        var code = await browser.CodeAsync(request, user);
        var tokens = await browser.ExchangeAsync(request, code);
        var authTime = new JsonWebToken(AuthlyApp.Str(tokens, "id_token")).GetPayloadValue<long>("auth_time");
        Assert.That(authTime, Is.GreaterThan(oldAuthTime + 3000), "auth_time is the new login");
    }

    [Test, Description("OIDC Core §3.1.2.1: max_age=0 forces a fresh login, which then satisfies it")]
    public async Task MaxAgeZero_WithSession_ShowsLoginPageThenIssuesCode()
    {
        var (browser, user) = await SignedInAsync();
        using var _b = browser;
        var request = Request(("max_age", "0"));
        var html = await BrowserFlow.HtmlAsync(await browser.GetAsync(request.Url));
        Assert.That(BrowserFlow.IsLoginPage(html), Is.True, "max_age=0 must show the login page");

        var posted = await browser.SubmitLoginAsync(html, user.Username, user.Password);
        Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var next = await browser.FollowAsync(posted);
        Assert.That(next.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "after the fresh login the request completes: " + await next.Content.ReadAsStringAsync());
        var q = BrowserFlow.Query(next.Headers.Location!);
        Assert.That(q.ContainsKey("code"), Is.True, string.Join("&", q));
        Assert.That(q["state"], Is.EqualTo(request.State));
    }

    [Test, Description("OIDC Core §3.1.2.1: a login older than max_age must be repeated")]
    public async Task MaxAge_WithOlderLogin_ShowsLoginPage()
    {
        var (browser, user) = await SignedInAsync();
        using var _b = browser;
        await browser.ExecuteSqlAsync("UPDATE sessions SET auth_time = auth_time - interval '10 minutes' WHERE user_id = @Id", new { user.Id });
        var html = await BrowserFlow.HtmlAsync(await browser.GetAsync(Request(("max_age", "300")).Url));
        Assert.That(BrowserFlow.IsLoginPage(html), Is.True);
    }

    [Test, Description("OIDC Core §3.1.2.1: a login younger than max_age is reused")]
    public async Task MaxAge_WithRecentLogin_IssuesCodeWithoutLoginPage()
    {
        var (browser, _) = await SignedInAsync();
        using var _b = browser;
        var response = await browser.GetAsync(Request(("max_age", "3600")).Url);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(BrowserFlow.Query(response.Headers.Location!).ContainsKey("code"), Is.True);
    }

    [Test, Description("OIDC Core §3.1.2.1, §3.1.2.6: max_age with prompt=none and an old login → login_required")]
    public async Task MaxAgeWithPromptNone_WithOlderLogin_RedirectsLoginRequired()
    {
        var (browser, user) = await SignedInAsync();
        using var _b = browser;
        await browser.ExecuteSqlAsync("UPDATE sessions SET auth_time = auth_time - interval '10 minutes' WHERE user_id = @Id", new { user.Id });
        var request = Request(("max_age", "60"), ("prompt", "none"));
        ErrorRedirect(await browser.GetAsync(request.Url), request, "login_required");
    }

    [TestCase("-1")]
    [TestCase("abc")]
    [TestCase("1.5")]
    [TestCase("99999999999999999999")]
    [Description("OIDC Core §3.1.2.1: max_age is a non-negative integer")]
    public async Task MaxAge_Malformed_RedirectsInvalidRequest(string value)
    {
        using var browser = new BrowserFlow(_app);
        var request = Request(("max_age", value));
        ErrorRedirect(await browser.GetAsync(request.Url), request, "invalid_request");
    }

    [TestCase("none login")]
    [TestCase("none consent")]
    [TestCase("bogus")]
    [Description("OIDC Core §3.1.2.1: none must stand alone; values are from the defined set")]
    public async Task Prompt_Invalid_RedirectsInvalidRequest(string prompt)
    {
        using var browser = new BrowserFlow(_app);
        var request = Request(("prompt", prompt));
        ErrorRedirect(await browser.GetAsync(request.Url), request, "invalid_request");
    }

    [Test, Description("OIDC Core §3.1.2.1: prompt=consent asks again although consent is remembered")]
    public async Task PromptConsent_WithRememberedConsent_ShowsConsentPage()
    {
        var (browser, _) = await SignedInAsync();
        using var _b = browser;
        var html = await BrowserFlow.HtmlAsync(await browser.GetAsync(Request(("prompt", "consent")).Url));
        Assert.That(BrowserFlow.IsConsentPage(html), Is.True);
    }

    [Test, Description("OIDC Core §3.1.2.1: login_hint pre-fills the username (escaped)")]
    public async Task LoginHint_PrefillsUsernameEscaped()
    {
        using var browser = new BrowserFlow(_app);
        var html = await BrowserFlow.HtmlAsync(await browser.GetAsync(Request(("login_hint", "ada\"><script>x</script>")).Url));
        Assert.That(html, Does.Contain("value=\"ada&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""));
        Assert.That(html, Does.Not.Contain("<script>x"));
    }
}
