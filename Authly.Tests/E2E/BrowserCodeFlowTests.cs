using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Authly.Tests.Cluster;
using Authly.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenQA.Selenium;

namespace Authly.Tests.E2E;

/// <summary>
/// The whole authorization code flow in a real headless Chromium against Authly on real Kestrel:
/// sign in, consent, callback, token exchange, ID token against the JWKS, userinfo, RP-initiated
/// logout and the session check, as a user and a relying party would see them.
/// </summary>
[TestFixture, Category("E2E"), NonParallelizable]
public sealed class BrowserCodeFlowTests
{
    private AuthlyApp _app = null!;
    private CallbackListener _rp = null!;
    private string _issuer = null!;
    private string _screenshots = null!;

    [OneTimeSetUp]
    public void Start()
    {
        var port = AuthlyNode.FreePort();
        _issuer = $"http://127.0.0.1:{port}";
        _app = AuthlyApp.StartOnKestrelAsync(port).GetAwaiter().GetResult();
        _rp = new CallbackListener(AuthlyNode.FreePort());
        _screenshots = Path.Combine(Path.GetTempPath(), "authly-e2e-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_screenshots);
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _rp.Dispose();
        _app.Dispose();
        try { Directory.Delete(_screenshots, recursive: true); } catch (IOException) { }
    }

    private async Task<string> ScreenshotAsync(IWebDriver browser, string name)
    {
        var png = ((ITakesScreenshot)browser).GetScreenshot().AsByteArray;
        var path = Path.Combine(_screenshots, name + ".png");
        await File.WriteAllBytesAsync(path, png);
        TestContext.AddTestAttachment(path, name);
        return path;
    }

    private static void AssertPng(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.That(bytes.Length, Is.GreaterThan(2000), path + " is too small to show a page");
        Assert.That(bytes[..8], Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), path + " is not a PNG");
    }

    /// <summary>Fetches /oidc/session/check from inside the browser (its cookies, its same-origin rules), on the check-session iframe page.</summary>
    private JsonObject SessionCheckInBrowser(IWebDriver browser)
    {
        browser.Navigate().GoToUrl(_issuer + "/oidc/session/iframe");
        var json = ((IJavaScriptExecutor)browser).ExecuteAsyncScript("""
            var done = arguments[arguments.length - 1];
            fetch('/oidc/session/check', { credentials: 'include', cache: 'no-store' })
              .then(function (r) { return r.text(); })
              .then(done, function (e) { done('fetch failed: ' + e); });
            """) as string ?? "(no result)";
        return JsonNode.Parse(json) as JsonObject ?? throw new AssertionException("session/check in the browser: " + json);
    }

    [Test, Description("RFC 6749 §4.1, RFC 7636, RFC 9207, OIDC Core §3.1, RP-Initiated Logout 1.0, end to end in Chromium")]
    public async Task CodeFlow_InRealBrowser_SignsInConsentsExchangesCallsUserInfoAndLogsOut()
    {
        var redirectUri = _rp.BaseUrl + "/cb";
        var postLogoutUri = _rp.BaseUrl + "/logged-out";
        var clientId = await BrowserFlow.CreatePublicClientAsync(_app, [redirectUri], scope: "openid profile email offline_access",
            postLogoutRedirectUris: [postLogoutUri], name: "E2E Relying Party");
        var user = await _app.RegisterUserAsync();
        var verifier = BrowserFlow.NewVerifier();
        var state = "e2e-" + Guid.NewGuid().ToString("N");
        var nonce = "nonce-" + Guid.NewGuid().ToString("N");
        var authorizeUrl = QueryHelpers.AddQueryString(_issuer + "/api/v1/oauth/authorize", new Dictionary<string, string?>
        {
            ["response_type"] = "code", ["client_id"] = clientId, ["redirect_uri"] = redirectUri, ["scope"] = "openid profile email",
            ["state"] = state, ["nonce"] = nonce, ["code_challenge"] = BrowserFlow.Challenge(verifier), ["code_challenge_method"] = "S256",
        });

        await using var browser = Chromium.Start();

        // 1. The login page.
        browser.Navigate().GoToUrl(authorizeUrl);
        var username = browser.Find("#username");
        AssertPng(await ScreenshotAsync(browser, "login"));
        username.SendKeys(user.Username);
        browser.Find("#password").SendKeys(user.Password);
        browser.Find("#login-btn").Click();

        // 2. The consent page.
        var allow = browser.Find("#authorize-btn");
        var consentSource = browser.PageSource;
        Assert.That(consentSource, Does.Contain("E2E Relying Party"));
        AssertPng(await ScreenshotAsync(browser, "consent"));
        allow.Click();

        // 3. Back at the relying party with code, state and iss.
        var callback = new Uri(browser.WaitForUrl(u => u.StartsWith(redirectUri + "?", StringComparison.Ordinal), "the redirect URI"));
        var q = BrowserFlow.Query(callback);
        Assert.Multiple(() =>
        {
            Assert.That(q["state"], Is.EqualTo(state));
            Assert.That(q["iss"], Is.EqualTo(_issuer));
            Assert.That(q["code"], Is.Not.Empty);
            Assert.That(_rp.Requests.Any(r => r.AbsolutePath == "/cb" && r.Query.Contains("code=")), Is.True, "the RP's listener received the callback");
        });

        // 4. The back channel: token exchange over TCP, like a real RP.
        using var http = new HttpClient { BaseAddress = new Uri(_issuer) };
        var tokenResponse = await http.PostAsync("/api/v1/oauth/token", AuthlyApp.Form(("grant_type", "authorization_code"), ("client_id", clientId),
            ("code", q["code"]), ("redirect_uri", redirectUri), ("code_verifier", verifier)));
        var tokens = await AuthlyApp.JsonAsync(tokenResponse);
        Assert.That(tokenResponse.StatusCode, Is.EqualTo(HttpStatusCode.OK), tokens.ToJsonString());
        var idToken = AuthlyApp.Str(tokens, "id_token");
        var accessToken = AuthlyApp.Str(tokens, "access_token");

        // 5. The ID token against the published keys.
        var jwks = JsonWebKeySet.Create(await http.GetStringAsync("/.well-known/jwks.json"));
        var validation = await new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            ValidIssuer = _issuer, ValidAudience = clientId, IssuerSigningKeys = jwks.Keys, RequireSignedTokens = true,
        });
        Assert.That(validation.IsValid, Is.True, validation.Exception?.Message);
        var jwt = (JsonWebToken)validation.SecurityToken;
        Assert.Multiple(() =>
        {
            Assert.That(jwt.GetPayloadValue<string>("nonce"), Is.EqualTo(nonce));
            Assert.That(jwt.Subject, Is.EqualTo(user.Id.ToString()));
            Assert.That(jwt.GetPayloadValue<string>("email"), Is.EqualTo(user.Email));
        });

        // 6. Userinfo with the access token.
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/oidc/userinfo"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
            var userinfo = await http.SendAsync(request);
            var claims = await AuthlyApp.JsonAsync(userinfo);
            Assert.That(userinfo.StatusCode, Is.EqualTo(HttpStatusCode.OK), claims.ToJsonString());
            Assert.That(AuthlyApp.Str(claims, "sub"), Is.EqualTo(user.Id.ToString()));
            Assert.That(AuthlyApp.Str(claims, "email"), Is.EqualTo(user.Email));
        }

        // 7. The session is live in the browser, then RP-initiated logout ends it and lands on the registered URI with state.
        var before = SessionCheckInBrowser(browser);
        Assert.That(before["active"]!.GetValue<bool>(), Is.True, before.ToJsonString());
        Assert.That(AuthlyApp.Str(before, "sid"), Is.EqualTo(jwt.GetPayloadValue<string>("sid")));

        var logoutState = "bye-" + Guid.NewGuid().ToString("N")[..8];
        browser.Navigate().GoToUrl(QueryHelpers.AddQueryString(_issuer + "/oidc/logout", new Dictionary<string, string?>
        {
            ["id_token_hint"] = idToken, ["post_logout_redirect_uri"] = postLogoutUri, ["state"] = logoutState,
        }));
        var landed = new Uri(browser.WaitForUrl(u => u.StartsWith(postLogoutUri, StringComparison.Ordinal), "the post-logout redirect URI"));
        Assert.That(BrowserFlow.Query(landed)["state"], Is.EqualTo(logoutState));

        var after = SessionCheckInBrowser(browser);
        Assert.That(after["active"]!.GetValue<bool>(), Is.False, after.ToJsonString());

        // 8. Signed out for real: the next authorization asks for a login again; consent is remembered,
        //    so the login form's redirect chain ends at the relying party directly.
        browser.Navigate().GoToUrl(authorizeUrl);
        browser.Find("#username").SendKeys(user.Username);
        browser.Find("#password").SendKeys(user.Password);
        browser.Find("#login-btn").Click();
        var second = new Uri(browser.WaitForUrl(u => u.StartsWith(redirectUri + "?", StringComparison.Ordinal), "the redirect URI after a second login"));
        Assert.That(BrowserFlow.Query(second)["state"], Is.EqualTo(state));
        Assert.That(BrowserFlow.Query(second).ContainsKey("code"), Is.True);
    }

    [Test, Description("RFC 6749 §4.1.2: after a failed login the re-shown form still completes the flow in the browser")]
    public async Task CodeFlow_InRealBrowser_AfterWrongPasswordThenRightOne_ReachesRelyingParty()
    {
        var redirectUri = _rp.BaseUrl + "/retry";
        var clientId = await BrowserFlow.CreatePublicClientAsync(_app, [redirectUri], scope: "openid", name: "Retry RP");
        var user = await _app.RegisterUserAsync();
        var state = "retry-" + Guid.NewGuid().ToString("N")[..8];
        var authorizeUrl = QueryHelpers.AddQueryString(_issuer + "/api/v1/oauth/authorize", new Dictionary<string, string?>
        {
            ["response_type"] = "code", ["client_id"] = clientId, ["redirect_uri"] = redirectUri, ["scope"] = "openid", ["state"] = state,
            ["code_challenge"] = BrowserFlow.Challenge(BrowserFlow.NewVerifier()), ["code_challenge_method"] = "S256",
        });
        // Consent given earlier, so the retried login form's redirect chain ends at the relying party.
        await using (var db = _app.Database())
        await using (var cmd = db.CreateCommand("INSERT INTO consents (user_id, client_id, scopes) VALUES ($1, $2, ARRAY['openid'])"))
        {
            cmd.Parameters.AddWithValue(user.Id);
            cmd.Parameters.AddWithValue(clientId);
            await cmd.ExecuteNonQueryAsync();
        }
        await using var browser = Chromium.Start();
        browser.Navigate().GoToUrl(authorizeUrl);
        browser.Find("#username").SendKeys(user.Username);
        browser.Find("#password").SendKeys("Wrong-Password-1");
        browser.Find("#login-btn").Click();
        browser.Find("p.error");
        Assert.That(browser.PageSource, Does.Contain("Incorrect username or password"));
        browser.Find("#password").SendKeys(user.Password);
        browser.Find("#login-btn").Click();
        var callback = new Uri(browser.WaitForUrl(u => u.StartsWith(redirectUri + "?", StringComparison.Ordinal), "the redirect URI"));
        Assert.That(BrowserFlow.Query(callback)["state"], Is.EqualTo(state));
    }

    [Test, Description("RP-Initiated Logout §2: without a hint the user confirms in the browser, then lands on the registered URI")]
    public async Task Logout_InRealBrowser_WithoutHint_ConfirmsAndRedirects()
    {
        var redirectUri = _rp.BaseUrl + "/cb2";
        var postLogoutUri = _rp.BaseUrl + "/bye";
        var clientId = await BrowserFlow.CreatePublicClientAsync(_app, [redirectUri], scope: "openid", postLogoutRedirectUris: [postLogoutUri]);
        var user = await _app.RegisterUserAsync();
        await using var browser = Chromium.Start();
        browser.Navigate().GoToUrl(_issuer + "/login?return_to=%2Fdevice");
        browser.Find("#username").SendKeys(user.Username);
        browser.Find("#password").SendKeys(user.Password);
        browser.Find("#login-btn").Click();
        browser.Find("#user_code");
        Assert.That((SessionCheckInBrowser(browser))["active"]!.GetValue<bool>(), Is.True);

        browser.Navigate().GoToUrl(QueryHelpers.AddQueryString(_issuer + "/oidc/logout", new Dictionary<string, string?>
        {
            ["client_id"] = clientId, ["post_logout_redirect_uri"] = postLogoutUri, ["state"] = "confirm-1",
        }));
        browser.Find("#logout-btn").Click();
        var landed = new Uri(browser.WaitForUrl(u => u.StartsWith(postLogoutUri, StringComparison.Ordinal), "the post-logout redirect URI"));
        Assert.That(BrowserFlow.Query(landed)["state"], Is.EqualTo("confirm-1"));
        Assert.That((SessionCheckInBrowser(browser))["active"]!.GetValue<bool>(), Is.False);
    }
}
