using System.Net;
using Authly.Caching;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// The second review of issue 13 ("one error model, decisions in Core"), as an attacker: the redesign
/// promised no change for callers, so every attempt here must fail for the attacker exactly as it did
/// before the redesign.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class Issue13ReviewCacheAttacks
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>The client table as the cache's loader sees it: whether the attacker's client is still active, read when the read starts.</summary>
    private sealed class ClientTable
    {
        public volatile bool Active = true;
        public TaskCompletionSource? Gate;

        public async Task<string?> FindActiveAsync(string clientId, CancellationToken ct)
        {
            var active = Active; // the row as the query saw it
            if (Gate is { } gate) await gate.Task.WaitAsync(ct);
            return active ? clientId : null;
        }
    }

    [Test, Description("Issue13 review (RefreshingCache): a lookup that starts after a deactivation was committed and announced never gets the answer of a read that began before it")]
    public async Task DeactivatedClient_ALookupAfterTheInvalidation_DoesNotJoinTheReadFromBeforeIt()
    {
        var table = new ClientTable { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var clients = new RefreshingCache<string, string?>("clients", new TestClock(DateTimeOffset.UtcNow), new ListLogger(),
            TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(900), table.FindActiveAsync, StringComparer.Ordinal);

        // A request of the attacker's client starts a read while the client is still active; the read is slow.
        var before = clients.GetAsync("stolen-client", None).AsTask();
        // The admin deactivates the client: the change is committed, then announced (Invalidate).
        table.Active = false;
        clients.Invalidate("stolen-client");
        // The attacker's next request arrives after that, while the old read is still running.
        var after = clients.GetAsync("stolen-client", None).AsTask();
        table.Gate.SetResult();

        Assert.That(await before, Is.EqualTo("stolen-client"), "the read that began before the change may answer what it read");
        Assert.That(await after, Is.Null, "a lookup that began after the change was announced must see the client deactivated");
        Assert.That(await clients.GetAsync("stolen-client", None), Is.Null, "and nothing from before the change was stored");
    }

    [Test, Description("Issue13 review (RefreshingCache.InvalidateAll, the vault providers' invalidation): a lookup after a provider was deactivated and announced never gets the read from before")]
    public async Task DeactivatedProvider_ALookupAfterInvalidateAll_DoesNotJoinTheReadFromBeforeIt()
    {
        var table = new ClientTable { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var providers = new RefreshingCache<string, string?>("vault providers", new TestClock(DateTimeOffset.UtcNow), new ListLogger(),
            TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(900), table.FindActiveAsync, StringComparer.Ordinal, maxEntries: 1000);

        var before = providers.GetAsync("github", None).AsTask();
        table.Active = false;
        providers.InvalidateAll();
        var after = providers.GetAsync("github", None).AsTask();
        table.Gate.SetResult();

        await before;
        Assert.That(await after, Is.Null, "a lookup that began after the change was announced must see the provider deactivated");
    }
}

/// <summary>
/// Issue 13 moved the authorize, consent and logout decisions into Core (AuthorizeFlow, LogoutFlow) and every
/// error path behind one mapper per transport. These are the attacks those moves could have opened.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class Issue13ReviewAttacks : RelyingPartyFixture
{
    private const string Evil = "https://evil.example/cb";

    [TestCase("prompt", "none", Description = "a silent request would answer login_required at the redirect URI")]
    [TestCase("response_type", "token", Description = "unsupported_response_type is a redirect once the URI is trusted")]
    [TestCase("code_challenge", "", Description = "a missing PKCE challenge is a redirect once the URI is trusted")]
    [TestCase("scope", "admin:users:write", Description = "invalid_scope is a redirect once the URI is trusted")]
    [Description("RFC 6749 §4.1.2.1 / Issue13 review (AuthorizeFlow): with an unregistered redirect_uri, no later error of the request is ever redirected")]
    public async Task Rfc6749Section4_1_2_1_UnregisteredRedirectUri_WithAnyOtherError_IsShown_NeverRedirected(string parameter, string value)
    {
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Evil) { Extra = new Dictionary<string, string?> { [parameter] = value } };
        var response = await browser.GetAsync(request.Url);
        var html = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), html);
        Assert.That(response.Headers.Location, Is.Null, "never a redirect before the redirect URI is trusted");
        Assert.That(html, Does.Contain("not registered for this client"));
        Assert.That(html, Does.Not.Contain("evil.example"), "the untrusted URI is not offered as a form target either");
    }

    [Test, Description("RFC 6749 §3.1 / Issue13 review (PageErrors): a repeated redirect_uri (one registered, one not) is refused on the page, not redirected to either")]
    public async Task Rfc6749Section3_1_RepeatedRedirectUri_IsShown_NeverRedirected()
    {
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect);
        var response = await browser.GetAsync(request.Url + "&redirect_uri=" + Uri.EscapeDataString(Evil));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(response.Headers.Location, Is.Null);
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("redirect_uri parameter is repeated"));
    }

    [Test, Description("OIDC Core §3.1.2.6 / Issue13 review (AuthorizeFlow): prompt=none without a session says login_required at the registered URI, with state and iss, and no code")]
    public async Task OidcCore3_1_2_6_PromptNoneWithoutSession_AnswersLoginRequiredAtTheRegisteredUriOnly()
    {
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect) { Extra = new Dictionary<string, string?> { ["prompt"] = "none" } };
        var response = await browser.GetAsync(request.Url);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await response.Content.ReadAsStringAsync());
        var location = response.Headers.Location!;
        Assert.That(location.GetLeftPart(UriPartial.Path), Is.EqualTo(Redirect));
        var query = BrowserFlow.Query(location);
        Assert.That(query["error"], Is.EqualTo("login_required"));
        Assert.That(query["state"], Is.EqualTo(request.State));
        Assert.That(query.ContainsKey("code"), Is.False);
    }

    [Test, Description("Issue #11 finding 6 / Issue13 review (AuthorizeFlow): a consent form replayed from another browser (no session there) issues no code")]
    public async Task ConsentForm_PostedFromAnotherBrowser_IssuesNoCode()
    {
        var user = await _app.RegisterUserAsync();
        using var victim = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect);
        var consent = await BrowserFlow.HtmlAsync(await victim.SignInAsync(request, user));
        Assert.That(BrowserFlow.IsConsentPage(consent), Is.True, consent);

        using var attacker = new BrowserFlow(_app);
        var fields = BrowserFlow.HiddenFields(consent);
        fields["approved"] = "true";
        var response = await attacker.PostFormAsync(BrowserFlow.FormAction(consent), fields);

        var location = response.Headers.Location;
        Assert.That(location is null || !BrowserFlow.Query(location).ContainsKey("code"), Is.True, $"a code left for {location}");
        Assert.That(await _app.SqlScalarAsync<long>("SELECT count(*) FROM consents c JOIN users u ON u.id = c.user_id WHERE u.username = @U",
            new { U = user.Username }), Is.Zero, "no consent was recorded");
    }

    [Test, Description("RP-Initiated Logout §3 / Issue13 review (LogoutFlow): a post_logout_redirect_uri not registered for the client is refused, never followed")]
    public async Task RpInitiatedLogout_UnregisteredPostLogoutRedirect_IsRefused_NeverRedirected()
    {
        using var browser = new BrowserFlow(_app);
        var response = await browser.GetAsync($"/oidc/logout?client_id={Uri.EscapeDataString(_clientId)}&post_logout_redirect_uri={Uri.EscapeDataString(Evil)}&state=s");

        Assert.That(response.Headers.Location, Is.Null);
        var html = await response.Content.ReadAsStringAsync();
        Assert.That(html, Does.Contain("not registered for this client"));
        Assert.That(response.Headers.TryGetValues("Content-Security-Policy", out var csp) && csp.Any(v => v.Contains("evil.example")), Is.False,
            "the unregistered URI is not allowed as a form target");
    }

    [Test, Description("RFC 6750 §3.1 / Issue13 review (OAuthErrorFilter): userinfo without a token is still a 401 with a bare Bearer challenge, not invalid_request")]
    public async Task Rfc6750Section3_1_UserInfoUpdateWithoutToken_Is401WithBareChallenge()
    {
        using var http = _app.CreateClient();
        var response = await http.PutAsync("/oidc/userinfo", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer").And.Not.Contain("error="));
    }

    [TestCase("text/plain", "{\"given_name\":\"x\"}")]
    [TestCase("application/jsonp", "{\"given_name\":\"x\"}")]
    [TestCase("application/json", "[1]")]
    [TestCase("application/json", "{\"given_name\":1}")]
    [Description("RFC 6749 §5.2 / Issue13 review (OAuthErrorFilter): a bad userinfo body is 400 invalid_request with no-store, changes nothing, and names no internal type")]
    public async Task Rfc6749Section5_2_BadUserInfoBody_IsInvalidRequest_AndChangesNothing(string contentType, string body)
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var tokens = await browser.TokensAsync(new BrowserFlow.Request(_clientId, Redirect, "openid profile"), user);
        var before = await _app.StateSnapshotAsync();
        using var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = BrowserFlow.Bearer(AuthlyApp.Str(tokens, "access_token"));
        var content = new StringContent(body);
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        var response = await http.PutAsync("/oidc/userinfo", content);
        var text = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), text);
        Assert.That((await AuthlyApp.JsonAsync(response))["error"]?.GetValue<string>(), Is.EqualTo("invalid_request"));
        Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
        Assert.That(text, Does.Not.Contain("Exception").And.Not.Contain("Authly."));
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
    }
}
