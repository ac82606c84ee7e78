using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.OidcCore;

/// <summary>OIDC Core §3.1.2.4: the consent page, and consent remembered per user and client for the same scopes.</summary>
[TestFixture, Category("OIDC")]
public sealed class ConsentTests : RelyingPartyFixture
{
    protected override Task<string> RegisterRelyingPartyAsync() => BrowserFlow.CreatePublicClientAsync(_app, [Redirect], name: "Photo <Printer> & Co");

    private BrowserFlow.Request Request(string scope = "openid profile email") => new(_clientId, Redirect, scope);

    [Test, Description("OIDC Core §3.1.2.4: the consent page names the client and the requested scopes with descriptions")]
    public async Task ConsentPage_ShowsClientNameScopesAndBothButtons()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var response = await browser.SignInAsync(Request(), user);
        var html = await BrowserFlow.HtmlAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(BrowserFlow.IsConsentPage(html), Is.True);
            Assert.That(html, Does.Contain("Photo &lt;Printer&gt; &amp; Co"), "client name, escaped");
            Assert.That(html, Does.Not.Contain("<Printer>"));
            Assert.That(html, Does.Contain("<strong>email</strong>").And.Contain("Read your email address"));
            Assert.That(html, Does.Contain("<strong>profile</strong>"));
            Assert.That(html, Does.Contain("name=\"approved\" value=\"true\" id=\"authorize-btn\""));
            Assert.That(html, Does.Contain("name=\"approved\" value=\"false\" id=\"deny-btn\""));
            Assert.That(BrowserFlow.HiddenFields(html), Does.ContainKey("csrf_token"));
            Assert.That(response.Headers.GetValues("X-Frame-Options").Single(), Is.EqualTo("DENY"), "no clickjacking of the Allow button");
        });
    }

    [Test, Description("CSP form-action covers redirects after a submission: the consent page allows exactly the client's redirect origin")]
    public async Task ConsentPage_FormActionAllowsOnlySelfAndTheClientsRedirectOrigin()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var response = await browser.SignInAsync(Request(), user);
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.That(csp, Does.Contain("form-action 'self' https://rp.example;"));
        Assert.That(csp, Does.Not.Contain("*").And.Not.Contain("unsafe-inline"));
    }

    [Test, Description("OIDC Core §3.1.2.4: consent remembered for the same scopes; no page the second time")]
    public async Task SecondAuthorization_ForSameScopes_SkipsConsentPage()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        await browser.CodeAsync(Request(), user);
        var response = await browser.GetAsync(Request().Url);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await response.Content.ReadAsStringAsync());
        Assert.That(BrowserFlow.Query(response.Headers.Location!).ContainsKey("code"), Is.True);
    }

    [Test, Description("Consent covers any subset of what was granted")]
    public async Task Authorization_ForSubsetOfConsentedScopes_SkipsConsentPage()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        await browser.CodeAsync(Request(), user);
        var response = await browser.GetAsync(Request("openid email").Url);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(BrowserFlow.Query(response.Headers.Location!).ContainsKey("code"), Is.True);
    }

    [Test, Description("A new scope asks again, listing the request")]
    public async Task Authorization_WithNewScope_ShowsConsentPageAgain()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        await browser.CodeAsync(Request(), user);
        var html = await BrowserFlow.HtmlAsync(await browser.GetAsync(Request("openid profile email phone").Url));
        Assert.That(BrowserFlow.IsConsentPage(html), Is.True);
        Assert.That(html, Does.Contain("<strong>phone</strong>"));
    }

    [Test, Description("Consent is per client: another client asks on its own")]
    public async Task Authorization_ByAnotherClient_ShowsConsentPage()
    {
        var other = await BrowserFlow.CreatePublicClientAsync(_app, [Redirect], name: "Other App");
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        await browser.CodeAsync(Request(), user);
        var html = await BrowserFlow.HtmlAsync(await browser.GetAsync(new BrowserFlow.Request(other, Redirect).Url));
        Assert.That(BrowserFlow.IsConsentPage(html), Is.True);
        Assert.That(html, Does.Contain("Other App"));
    }

    [Test, Description("Consent is per user: another user on the same client is asked")]
    public async Task Authorization_ByAnotherUser_ShowsConsentPage()
    {
        var first = await _app.RegisterUserAsync();
        using (var browser = new BrowserFlow(_app)) await browser.CodeAsync(Request(), first);
        var second = await _app.RegisterUserAsync();
        using var other = new BrowserFlow(_app);
        var html = await BrowserFlow.HtmlAsync(await other.SignInAsync(Request(), second));
        Assert.That(BrowserFlow.IsConsentPage(html), Is.True);
    }

    [Test, Description("RFC 6749 §4.1.2.1: deny → access_denied; nothing is remembered, so the next request asks again")]
    public async Task Deny_RedirectsAccessDeniedAndRemembersNothing()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = Request();
        var consent = await BrowserFlow.HtmlAsync(await browser.SignInAsync(request, user));
        var denied = await browser.DecideAsync(consent, approve: false);
        var q = BrowserFlow.Query(denied.Headers.Location!);
        Assert.Multiple(() =>
        {
            Assert.That(q["error"], Is.EqualTo("access_denied"));
            Assert.That(q["state"], Is.EqualTo(request.State));
            Assert.That(q["iss"], Is.EqualTo(AuthlyApp.Issuer));
            Assert.That(q.ContainsKey("code"), Is.False);
        });
        var again = await BrowserFlow.HtmlAsync(await browser.GetAsync(Request().Url));
        Assert.That(BrowserFlow.IsConsentPage(again), Is.True);
        Assert.That(await browser.ScalarAsync<long>("SELECT count(*) FROM authorization_codes WHERE user_id = @Id", new { user.Id }), Is.Zero);
        Assert.That(await browser.ScalarAsync<long>("SELECT count(*) FROM consents WHERE user_id = @Id", new { user.Id }), Is.Zero);
    }

    [Test, Description("The consent decision is bound to the request it shows: approving widens nothing beyond the requested scopes")]
    public async Task Approve_GrantsExactlyTheRequestedScopes()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = Request("openid email");
        var tokens = await browser.TokensAsync(request, user);
        Assert.That(AuthlyApp.Str(tokens, "scope").Split(' '), Is.EquivalentTo(new[] { "openid", "email" }));
    }

    [Test, Description("A non-admin user is never granted admin scopes, even when the client may request them (UserScopePolicy)")]
    public async Task Approve_ForNonAdminUser_DropsAdminScopes()
    {
        var clientId = await BrowserFlow.CreatePublicClientAsync(_app, [Redirect], scope: "openid admin:users:read");
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(clientId, Redirect, "openid admin:users:read");
        var consent = await BrowserFlow.HtmlAsync(await browser.SignInAsync(request, user));
        Assert.That(consent, Does.Not.Contain("<strong>admin:users:read</strong>"), "the consent page lists only what can be granted");
        var response = await browser.DecideAsync(consent, approve: true);
        var tokens = await browser.ExchangeAsync(request, BrowserFlow.Query(response.Headers.Location!)["code"]);
        Assert.That(AuthlyApp.Str(tokens, "scope"), Is.EqualTo("openid"));
    }
}
