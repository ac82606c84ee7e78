using System.Net;
using Authly.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;

namespace Authly.Tests.OidcLogout;

/// <summary>OpenID Connect RP-Initiated Logout 1.0 (and the session endpoints that must tell the truth afterwards).</summary>
[TestFixture, Category("OIDC-Logout")]
public sealed class RpInitiatedLogoutTests : RelyingPartyFixture
{
    protected override Task<string> RegisterRelyingPartyAsync() => BrowserFlow.CreatePublicClientAsync(_app, [Redirect], postLogoutRedirectUris: [PostLogout]);

    private const string PostLogout = "https://rp.example/signed-out";

    private async Task<(BrowserFlow Browser, string IdToken)> SignedInAsync()
    {
        var user = await _app.RegisterUserAsync();
        var browser = new BrowserFlow(_app);
        var tokens = await browser.TokensAsync(new BrowserFlow.Request(_clientId, Redirect), user);
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True);
        return (browser, AuthlyApp.Str(tokens, "id_token"));
    }

    private static string LogoutUrl(params (string Key, string? Value)[] p) =>
        QueryHelpers.AddQueryString("/oidc/logout", p.Where(x => x.Value is not null).Select(x => new KeyValuePair<string, string?>(x.Key, x.Value)));

    private static void AssertNotRedirected(HttpResponseMessage response)
    {
        Assert.Multiple(() =>
        {
            Assert.That(response.Headers.Location, Is.Null, "must not redirect");
            Assert.That((int)response.StatusCode, Is.Not.InRange(300, 399));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
        });
    }

    [Test, Description("RP-Initiated Logout §2, §3: a valid hint ends the session and redirects to the registered URI with state")]
    public async Task Logout_WithValidHintAndRegisteredUri_EndsSessionAndRedirectsWithState()
    {
        var (browser, idToken) = await SignedInAsync();
        using var _b = browser;
        var response = await browser.GetAsync(LogoutUrl(("id_token_hint", idToken), ("post_logout_redirect_uri", PostLogout), ("state", "bye 1&2")));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await response.Content.ReadAsStringAsync());
        var location = response.Headers.Location!;
        Assert.Multiple(async () =>
        {
            Assert.That(location.GetLeftPart(UriPartial.Path), Is.EqualTo(PostLogout));
            Assert.That(BrowserFlow.Query(location)["state"], Is.EqualTo("bye 1&2"));
            Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.False);
        });
        var next = await BrowserFlow.HtmlAsync(await browser.GetAsync(new BrowserFlow.Request(_clientId, Redirect).Url));
        Assert.That(BrowserFlow.IsLoginPage(next), Is.True, "signed out: the next authorization asks for a login");
    }

    [Test, Description("RP-Initiated Logout §3: without a post_logout_redirect_uri the OP shows its own page")]
    public async Task Logout_WithValidHintOnly_EndsSessionAndShowsSignedOutPage()
    {
        var (browser, idToken) = await SignedInAsync();
        using var _b = browser;
        var response = await browser.GetAsync(LogoutUrl(("id_token_hint", idToken)));
        AssertNotRedirected(response);
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("signed out"));
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.False);
    }

    [TestCase("https://evil.example/", TestName = "Logout_WithForeignPostLogoutUri_DoesNotRedirect")]
    [TestCase("https://rp.example/signed-out/", TestName = "Logout_WithPostLogoutUriWithTrailingSlash_DoesNotRedirect")]
    [TestCase("https://rp.example/signed-out?next=https://evil.example", TestName = "Logout_WithPostLogoutUriWithAddedQuery_DoesNotRedirect")]
    [TestCase("https://rp.example/cb", TestName = "Logout_WithRedirectUriInsteadOfPostLogoutUri_DoesNotRedirect")]
    [TestCase("//evil.example", TestName = "Logout_WithSchemeRelativePostLogoutUri_DoesNotRedirect")]
    [Description("RP-Initiated Logout §3: only a URI registered for the client, exactly")]
    public async Task Logout_WithUnregisteredPostLogoutUri_DoesNotRedirect(string uri)
    {
        var (browser, idToken) = await SignedInAsync();
        using var _b = browser;
        AssertNotRedirected(await browser.GetAsync(LogoutUrl(("id_token_hint", idToken), ("post_logout_redirect_uri", uri), ("state", "s"))));
    }

    [Test, Description("RP-Initiated Logout §3: without id_token_hint (or client_id) a post_logout_redirect_uri cannot be trusted")]
    public async Task Logout_WithPostLogoutUriButNoHint_DoesNotRedirectOrSignOut()
    {
        var (browser, _) = await SignedInAsync();
        using var _b = browser;
        AssertNotRedirected(await browser.GetAsync(LogoutUrl(("post_logout_redirect_uri", PostLogout), ("state", "s"))));
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True);
    }

    [Test, Description("RP-Initiated Logout §2: a logout request without a hint asks the user instead of acting")]
    public async Task Logout_WithClientIdButNoHint_AsksForConfirmationWithoutRedirecting()
    {
        var (browser, _) = await SignedInAsync();
        using var _b = browser;
        var response = await browser.GetAsync(LogoutUrl(("client_id", _clientId), ("post_logout_redirect_uri", PostLogout), ("state", "s")));
        AssertNotRedirected(response);
        var html = await response.Content.ReadAsStringAsync();
        Assert.That(html, Does.Contain("id=\"logout-btn\""));
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True, "nothing happens before the user confirms");

        var fields = BrowserFlow.HiddenFields(html);
        var confirmed = await browser.PostFormAsync("/oidc/logout", fields);
        Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(confirmed.Headers.Location!.GetLeftPart(UriPartial.Path), Is.EqualTo(PostLogout));
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.False);
    }

    [Test, Description("CSP form-action covers redirects after a submission: the confirmation allows the registered post-logout origin only")]
    public async Task LogoutConfirmation_FormActionAllowsRegisteredPostLogoutOrigin()
    {
        using var browser = new BrowserFlow(_app);
        var registered = await browser.GetAsync(LogoutUrl(("client_id", _clientId), ("post_logout_redirect_uri", PostLogout)));
        Assert.That(registered.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("form-action 'self' https://rp.example;"));
        var bare = await browser.GetAsync(LogoutUrl(("client_id", _clientId)));
        Assert.That(bare.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("form-action 'self';"));
    }

    [Test, Description("RP-Initiated Logout §2: the confirmation is CSRF-protected")]
    public async Task LogoutConfirmation_WithoutCsrfToken_DoesNotSignOut()
    {
        var (browser, _) = await SignedInAsync();
        using var _b = browser;
        var html = await (await browser.GetAsync(LogoutUrl(("client_id", _clientId)))).Content.ReadAsStringAsync();
        var fields = BrowserFlow.HiddenFields(html);
        fields.Remove("csrf_token");
        var response = await browser.PostFormAsync("/oidc/logout", fields);
        AssertNotRedirected(response);
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True);
    }

    [Test, Description("RP-Initiated Logout §2: id_token_hint must be an ID token of ours")]
    public async Task Logout_WithTamperedHint_IsRefusedAndSessionStays()
    {
        var (browser, idToken) = await SignedInAsync();
        using var _b = browser;
        var parts = idToken.Split('.');
        var tampered = parts[0] + "." + parts[1] + "." + (parts[2][0] == 'A' ? "B" : "A") + parts[2][1..];
        var response = await browser.GetAsync(LogoutUrl(("id_token_hint", tampered), ("post_logout_redirect_uri", PostLogout)));
        AssertNotRedirected(response);
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True);
    }

    [Test, Description("RP-Initiated Logout §2: an access token is not an ID token")]
    public async Task Logout_WithAccessTokenAsHint_IsRefused()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var tokens = await browser.TokensAsync(new BrowserFlow.Request(_clientId, Redirect), user);
        var response = await browser.GetAsync(LogoutUrl(("id_token_hint", AuthlyApp.Str(tokens, "access_token")), ("post_logout_redirect_uri", PostLogout)));
        AssertNotRedirected(response);
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True);
    }

    [Test, Description("API.md: a malformed client_id at the logout endpoint is refused, never a 500")]
    public async Task Logout_WithNulClientId_IsRefusedWithoutServerError()
    {
        using var browser = new BrowserFlow(_app);
        var response = await browser.GetAsync(LogoutUrl(("client_id", "\0"), ("post_logout_redirect_uri", PostLogout)));
        AssertNotRedirected(response);
        Assert.That((int)response.StatusCode, Is.LessThan(500));
    }

    [Test, Description("RP-Initiated Logout §2: client_id must match the hint's client")]
    public async Task Logout_WithClientIdOfAnotherClient_IsRefused()
    {
        var other = await BrowserFlow.CreatePublicClientAsync(_app, [Redirect], postLogoutRedirectUris: ["https://other.example/out"]);
        var (browser, idToken) = await SignedInAsync();
        using var _b = browser;
        AssertNotRedirected(await browser.GetAsync(LogoutUrl(("id_token_hint", idToken), ("client_id", other),
            ("post_logout_redirect_uri", "https://other.example/out"))));
    }

    [Test, Description("RP-Initiated Logout §2, §3: a valid hint from a user agent without a session ends nothing there and still returns to the RP")]
    public async Task Logout_WithHintFromAnotherUserAgent_RedirectsWithoutEndingTheNamedSession()
    {
        // The opposite used to hold (the hint's sid ended the session from any user agent): Attacks/LogoutAttacks.cs.
        var (browser, idToken) = await SignedInAsync();
        using var _b = browser;
        using var rp = new BrowserFlow(_app);
        var response = await rp.GetAsync(LogoutUrl(("id_token_hint", idToken), ("post_logout_redirect_uri", PostLogout)));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(response.Headers.Location!.GetLeftPart(UriPartial.Path), Is.EqualTo(PostLogout));
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True);
    }

    [Test, Description("RP-Initiated Logout §2: an empty id_token_hint is no hint; the OP asks")]
    public async Task Logout_WithEmptyHint_AsksInsteadOfSigningOut()
    {
        var (browser, _) = await SignedInAsync();
        using var _b = browser;
        var response = await browser.GetAsync("/oidc/logout?id_token_hint=");
        AssertNotRedirected(response);
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("id=\"logout-btn\""));
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True);
    }

    [Test, Description("RP-Initiated Logout §2: the OP MUST ask when the hint does not belong to the signed-in user")]
    public async Task Logout_WithHintOfAnotherUser_AsksBeforeEndingThisBrowsersSession()
    {
        var (victim, _) = await SignedInAsync();
        using var _v = victim;
        var (attacker, attackerIdToken) = await SignedInAsync();
        attacker.Dispose();
        var response = await victim.GetAsync(LogoutUrl(("id_token_hint", attackerIdToken), ("post_logout_redirect_uri", PostLogout), ("state", "s")));
        AssertNotRedirected(response);
        var html = await response.Content.ReadAsStringAsync();
        Assert.That(html, Does.Contain("id=\"logout-btn\""), "the user is asked");
        Assert.That((await victim.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True, "nothing ends before the user confirms");

        var confirmed = await victim.PostFormAsync("/oidc/logout", BrowserFlow.HiddenFields(html));
        Assert.That(confirmed.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(confirmed.Headers.Location!.GetLeftPart(UriPartial.Path), Is.EqualTo(PostLogout));
        Assert.That((await victim.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.False);
    }

    [Test, Description("OIDC Session Management: session/check answers false without a session cookie and never leaks a sid")]
    public async Task SessionCheck_WithoutSession_ReportsInactive()
    {
        using var browser = new BrowserFlow(_app);
        var response = await browser.Http.GetAsync("/oidc/session/check");
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(body.ToJsonString(), Is.EqualTo("{\"active\":false}"));
        Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
    }

    [Test, Description("OIDC Front-Channel Logout §2: another session's sid does not end this browser's session")]
    public async Task FrontChannelLogout_WithForeignSid_KeepsSession()
    {
        var (browser, _) = await SignedInAsync();
        using var _b = browser;
        var response = await browser.GetAsync("/oidc/frontchannel/logout?iss=" + Uri.EscapeDataString(AuthlyApp.Issuer) + "&sid=not-this-session");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True);
    }

    [Test, Description("OIDC Front-Channel Logout §2: the browser's own sid ends its session")]
    public async Task FrontChannelLogout_WithOwnSid_EndsSession()
    {
        var (browser, _) = await SignedInAsync();
        using var _b = browser;
        var sid = AuthlyApp.Str(await browser.SessionCheckAsync(), "sid");
        var response = await browser.GetAsync("/oidc/frontchannel/logout?iss=" + Uri.EscapeDataString(AuthlyApp.Issuer) + "&sid=" + sid);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.False);
    }

    [Test, Description("OIDC Session Management §3.2: the check_session_iframe exists and may be framed; no inline script")]
    public async Task SessionIframe_IsFramableAndUsesExternalScript()
    {
        var response = await _app.CreateClient().GetAsync("/oidc/session/iframe");
        var html = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Headers.Contains("X-Frame-Options"), Is.False);
            Assert.That(html, Does.Contain("<script src=\"/static/session-iframe.js\">"));
        });
    }

    [Test, Description("Discovery advertises the logout and session endpoints (OIDC Discovery, RP-Initiated Logout §2.1)")]
    public async Task Discovery_AdvertisesEndSessionEndpoint()
    {
        var doc = await AuthlyApp.JsonAsync(await _app.CreateClient().GetAsync("/.well-known/openid-configuration"));
        Assert.That(AuthlyApp.Str(doc, "end_session_endpoint"), Is.EqualTo(AuthlyApp.Issuer + "/oidc/logout"));
        Assert.That(AuthlyApp.Str(doc, "check_session_iframe"), Is.EqualTo(AuthlyApp.Issuer + "/oidc/session/iframe"));
    }
}
