using System.Net;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc6749;

/// <summary>RFC 6749 §4.1 (with OAuth 2.1 rules) through the browser front channel and the token endpoint.</summary>
[TestFixture, Category("RFC6749")]
public sealed class AuthorizationCodeFlowTests : RelyingPartyFixture
{
    protected override Task<string> RegisterRelyingPartyAsync() => BrowserFlow.CreatePublicClientAsync(_app, [Redirect, "https://rp.example/other"]);

    private BrowserFlow Browser() => new(_app);
    private BrowserFlow.Request Request(string? redirect = null) => new(_clientId, redirect ?? Redirect);

    private static void AssertErrorPage(HttpResponseMessage response, string html)
    {
        Assert.Multiple(() =>
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(200).Or.EqualTo(400), html);
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(response.Headers.Location, Is.Null, "an untrusted request must never be redirected");
            Assert.That(html, Does.Not.Contain("code="));
            Assert.That(html, Does.Not.Contain("Exception").And.Not.Contain("   at "));
        });
    }

    [Test, Description("RFC 6749 §4.1.2; RFC 9207 §2")]
    public async Task AuthorizeRequest_AfterLoginAndConsent_RedirectsWithCodeStateAndIss()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = Request();
        var location = await browser.AuthorizeAsync(request, user);
        var q = BrowserFlow.Query(location);
        Assert.Multiple(() =>
        {
            Assert.That(location.GetLeftPart(UriPartial.Path), Is.EqualTo(Redirect));
            Assert.That(q["code"], Has.Length.GreaterThanOrEqualTo(32));
            Assert.That(q["state"], Is.EqualTo(request.State));
            Assert.That(q["iss"], Is.EqualTo(AuthlyApp.Issuer));
            Assert.That(q.Keys, Is.EquivalentTo(new[] { "code", "state", "iss" }));
        });
    }

    [Test, Description("RFC 6749 §4.1.3, §4.1.4, §5.1; OIDC Core §3.1.3.3")]
    public async Task TokenRequest_WithValidCode_ReturnsBearerIdAndRefreshTokensWithNoStore()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = Request();
        var code = await browser.CodeAsync(request, user);
        var response = await browser.ExchangeRawAsync(_clientId, code, Redirect, request.Verifier);
        var body = await AuthlyApp.JsonAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
            Assert.That(response.Headers.Pragma.ToString(), Is.EqualTo("no-cache"));
            Assert.That(AuthlyApp.Str(body, "token_type"), Is.EqualTo("Bearer"));
            Assert.That(AuthlyApp.Str(body, "scope").Split(' '), Is.EquivalentTo(new[] { "openid", "profile", "email" }));
            Assert.That(body["expires_in"]!.GetValue<int>(), Is.GreaterThan(0));
            Assert.That(body.ContainsKey("refresh_token"), Is.True, "the client is registered for refresh_token");
            Assert.That(body.ContainsKey("id_token"), Is.True, "openid was granted");
        });
    }

    [Test, Description("RFC 6749 §4.1.2.1")]
    public async Task AuthorizeRequest_WithUnknownClient_ShowsErrorPageWithoutRedirect()
    {
        using var browser = Browser();
        var response = await browser.GetAsync(new BrowserFlow.Request("no-such-client", Redirect).Url);
        AssertErrorPage(response, await response.Content.ReadAsStringAsync());
    }

    [Test, Description("RFC 6749 §4.1.2.1")]
    public async Task AuthorizeRequest_WithoutClientId_ShowsErrorPageWithoutRedirect()
    {
        using var browser = Browser();
        var response = await browser.GetAsync((Request() with { Extra = new Dictionary<string, string?> { ["client_id"] = null } }).Url);
        AssertErrorPage(response, await response.Content.ReadAsStringAsync());
    }

    [TestCase("https://evil.example/cb", TestName = "AuthorizeRequest_WithForeignRedirectUri_ShowsErrorPageWithoutRedirect")]
    [TestCase("https://rp.example/CB", TestName = "AuthorizeRequest_WithRedirectUriDifferingInPathCase_ShowsErrorPageWithoutRedirect")]
    [TestCase("https://RP.example/cb", TestName = "AuthorizeRequest_WithRedirectUriDifferingInHostCase_ShowsErrorPageWithoutRedirect")]
    [TestCase("HTTPS://rp.example/cb", TestName = "AuthorizeRequest_WithRedirectUriDifferingInSchemeCase_ShowsErrorPageWithoutRedirect")]
    [TestCase("https://rp.example/cb/", TestName = "AuthorizeRequest_WithRedirectUriWithTrailingSlash_ShowsErrorPageWithoutRedirect")]
    [TestCase("https://rp.example:443/cb", TestName = "AuthorizeRequest_WithRedirectUriWithExplicitDefaultPort_ShowsErrorPageWithoutRedirect")]
    [TestCase("https://rp.example:8443/cb", TestName = "AuthorizeRequest_WithRedirectUriWithOtherPort_ShowsErrorPageWithoutRedirect")]
    [TestCase("https://rp.example/cb?next=https://evil.example", TestName = "AuthorizeRequest_WithRedirectUriWithAddedQuery_ShowsErrorPageWithoutRedirect")]
    [TestCase("https://rp.example/cb#frag", TestName = "AuthorizeRequest_WithRedirectUriWithFragment_ShowsErrorPageWithoutRedirect")]
    [TestCase("https://rp.example/cb/../cb", TestName = "AuthorizeRequest_WithRedirectUriWithDotSegments_ShowsErrorPageWithoutRedirect")]
    [TestCase("http://rp.example/cb", TestName = "AuthorizeRequest_WithRedirectUriWithOtherScheme_ShowsErrorPageWithoutRedirect")]
    [Description("RFC 6749 §3.1.2.3, §4.1.2.1; OAuth 2.1 §2.3.1: exact string matching")]
    public async Task AuthorizeRequest_WithUnregisteredRedirectUri_ShowsErrorPageWithoutRedirect(string redirectUri)
    {
        using var browser = Browser();
        var response = await browser.GetAsync(Request(redirectUri).Url);
        var html = await response.Content.ReadAsStringAsync();
        AssertErrorPage(response, html);
        Assert.That(html, Does.Contain("redirect_uri"));
    }

    [Test, Description("RFC 6749 §3.1.2.3: with several registered URIs, redirect_uri is required")]
    public async Task AuthorizeRequest_WithoutRedirectUriWhenSeveralAreRegistered_ShowsErrorPageWithoutRedirect()
    {
        using var browser = Browser();
        var response = await browser.GetAsync((Request() with { Extra = new Dictionary<string, string?> { ["redirect_uri"] = null } }).Url);
        AssertErrorPage(response, await response.Content.ReadAsStringAsync());
    }

    [TestCase("client_id")]
    [TestCase("redirect_uri")]
    [TestCase("state")]
    [TestCase("code_challenge")]
    [Description("RFC 6749 §3.1: request and response parameters MUST NOT be included more than once")]
    public async Task AuthorizeRequest_WithRepeatedParameter_IsRefusedWithoutRedirectOrCode(string name)
    {
        using var browser = Browser();
        var request = Request();
        var value = request.Parameters.First(p => p.Key == name).Value;
        var response = await browser.GetAsync(request.Url + "&" + name + "=" + Uri.EscapeDataString(name == "redirect_uri" ? "https://rp.example/other" : value));
        var html = await response.Content.ReadAsStringAsync();
        AssertErrorPage(response, html);
        Assert.That(html, Does.Contain("repeated"));
    }

    [Test, Description("Error pages escape what they echo (no reflected markup)")]
    public async Task AuthorizeRequest_WithRepeatedMarkupParameterName_EscapesItOnTheErrorPage()
    {
        using var browser = Browser();
        var response = await browser.GetAsync(Request().Url + "&%3Cscript%3Ex%3C%2Fscript%3E=1&%3Cscript%3Ex%3C%2Fscript%3E=2");
        var html = await response.Content.ReadAsStringAsync();
        AssertErrorPage(response, html);
        Assert.That(html, Does.Not.Contain("<script>x"));
        Assert.That(html, Does.Contain("&lt;script&gt;x"));
    }

    [Test, Description("RFC 6749 §3.1: repeated parameters in a POSTed authorization request")]
    public async Task AuthorizeRequest_PostWithRepeatedParameter_IsRefusedWithoutRedirect()
    {
        using var browser = Browser();
        var fields = Request().Parameters.Append(new("redirect_uri", "https://rp.example/other"));
        var response = await browser.PostFormAsync("/api/v1/oauth/authorize", fields);
        AssertErrorPage(response, await response.Content.ReadAsStringAsync());
    }

    private async Task<Dictionary<string, string>> ErrorRedirectAsync(BrowserFlow.Request request, string expectedError)
    {
        using var browser = Browser();
        var response = await browser.GetAsync(request.Url);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await response.Content.ReadAsStringAsync());
        var location = response.Headers.Location!;
        var q = BrowserFlow.Query(location);
        Assert.Multiple(() =>
        {
            Assert.That(location.GetLeftPart(UriPartial.Path), Is.EqualTo(request.RedirectUri));
            Assert.That(q["error"], Is.EqualTo(expectedError));
            Assert.That(q.ContainsKey("error_description"), Is.True);
            Assert.That(q.ContainsKey("code"), Is.False);
            Assert.That(q["iss"], Is.EqualTo(AuthlyApp.Issuer));
            if (request.State is not null) Assert.That(q["state"], Is.EqualTo(request.State));
        });
        return q;
    }

    [TestCase("\0", TestName = "AuthorizeRequest_WithNulClientId_ShowsErrorPageWithoutServerError")]
    [TestCase("client\u0001id", TestName = "AuthorizeRequest_WithControlCharacterInClientId_ShowsErrorPageWithoutServerError")]
    [TestCase("ünïcode", TestName = "AuthorizeRequest_WithNonAsciiClientId_ShowsErrorPageWithoutServerError")]
    [Description("RFC 6749 Appendix A.1: client_id is VSCHAR; API.md: bad input never produces a 500")]
    public async Task AuthorizeRequest_WithMalformedClientId_ShowsErrorPage(string clientId)
    {
        using var browser = Browser();
        var response = await browser.GetAsync(new BrowserFlow.Request(clientId, Redirect).Url);
        AssertErrorPage(response, await response.Content.ReadAsStringAsync());
    }

    [Test, Description("API.md: an oversized client_id is refused on the page, never a 500")]
    public async Task AuthorizeRequest_WithHugeClientId_ShowsErrorPage()
    {
        using var browser = Browser();
        var response = await browser.GetAsync(new BrowserFlow.Request(new string('x', 20_000), Redirect).Url);
        AssertErrorPage(response, await response.Content.ReadAsStringAsync());
    }

    [Test, Description("OIDC Core §3.1.2.1; API.md: a nonce with a NUL character is invalid_request, never a 500 when the code is stored")]
    public async Task AuthorizeRequest_WithNulInNonce_RedirectsInvalidRequest()
    {
        var q = await ErrorRedirectAsync(Request() with { Nonce = "n\0nce" }, "invalid_request");
        Assert.That(q["error_description"], Does.Contain("nonce"));
    }

    [Test, Description("RFC 6749 §4.1.2.1: missing response_type → invalid_request, redirected with state")]
    public Task AuthorizeRequest_WithoutResponseType_RedirectsInvalidRequest() =>
        ErrorRedirectAsync(Request() with { Extra = new Dictionary<string, string?> { ["response_type"] = null } }, "invalid_request");

    [TestCase("token")]
    [TestCase("code id_token")]
    [TestCase("id_token")]
    [Description("OAuth 2.1 §4.1.1: only the code response type")]
    public Task AuthorizeRequest_WithOtherResponseType_RedirectsUnsupportedResponseType(string responseType) =>
        ErrorRedirectAsync(Request() with { Extra = new Dictionary<string, string?> { ["response_type"] = responseType } }, "unsupported_response_type");

    [Test, Description("RFC 6749 §4.1.2.1: invalid_scope")]
    public Task AuthorizeRequest_WithUnknownScope_RedirectsInvalidScope() =>
        ErrorRedirectAsync(Request() with { Extra = new Dictionary<string, string?> { ["scope"] = "openid no-such-scope" } }, "invalid_scope");

    [Test, Description("RFC 6749 §4.1.2.1: invalid_scope for a scope the client is not registered for")]
    public Task AuthorizeRequest_WithScopeNotAllowedForClient_RedirectsInvalidScope() =>
        ErrorRedirectAsync(Request() with { Extra = new Dictionary<string, string?> { ["scope"] = "openid admin:users:write" } }, "invalid_scope");

    [Test, Description("OAuth 2.1 §4.1.2.1: a response_mode the server does not support")]
    public Task AuthorizeRequest_WithUnsupportedResponseMode_RedirectsInvalidRequest() =>
        ErrorRedirectAsync(Request() with { Extra = new Dictionary<string, string?> { ["response_mode"] = "fragment" } }, "invalid_request");

    [Test, Description("OIDC Core §6: request objects are not supported")]
    public Task AuthorizeRequest_WithRequestObject_RedirectsRequestNotSupported() =>
        ErrorRedirectAsync(Request() with { Extra = new Dictionary<string, string?> { ["request"] = "eyJhbGciOiJub25lIn0.e30." } }, "request_not_supported");

    [Test, Description("RFC 6749 §4.1.2.1: error redirects without state carry none")]
    public async Task AuthorizeRequest_ErrorWithoutState_RedirectsWithoutState()
    {
        var q = await ErrorRedirectAsync(Request() with { State = null, Extra = new Dictionary<string, string?> { ["response_type"] = "token" } },
            "unsupported_response_type");
        Assert.That(q.ContainsKey("state"), Is.False);
    }

    [Test, Description("RFC 6749 §3.1.2: the query component of a registered redirect URI MUST be retained (success)")]
    public async Task AuthorizeRequest_ToRedirectUriWithQuery_AppendsParametersWithAmpersand()
    {
        const string withQuery = "https://rp.example/cb?tenant=a%20b&x=1";
        var clientId = await BrowserFlow.CreatePublicClientAsync(_app, [withQuery]);
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = new BrowserFlow.Request(clientId, withQuery);
        var location = (await browser.AuthorizeAsync(request, user)).OriginalString;
        var q = BrowserFlow.Query(new Uri(location));
        Assert.Multiple(() =>
        {
            Assert.That(location, Does.StartWith(withQuery + "&code="));
            Assert.That(location.Count(c => c == '?'), Is.EqualTo(1));
            Assert.That(q["tenant"], Is.EqualTo("a b"));
            Assert.That(q["x"], Is.EqualTo("1"));
            Assert.That(q["state"], Is.EqualTo(request.State));
            Assert.That(q["iss"], Is.EqualTo(AuthlyApp.Issuer));
        });
    }

    [Test, Description("RFC 6749 §3.1.2: the query component of a registered redirect URI MUST be retained (error)")]
    public async Task AuthorizeRequest_ErrorToRedirectUriWithQuery_AppendsParametersWithAmpersand()
    {
        const string withQuery = "https://rp.example/cb?tenant=err";
        var clientId = await BrowserFlow.CreatePublicClientAsync(_app, [withQuery]);
        using var browser = Browser();
        var request = new BrowserFlow.Request(clientId, withQuery) { Extra = new Dictionary<string, string?> { ["code_challenge_method"] = "plain" } };
        var response = await browser.GetAsync(request.Url);
        var location = response.Headers.Location!.OriginalString;
        Assert.That(location, Does.StartWith(withQuery + "&error=invalid_request&"));
        Assert.That(BrowserFlow.Query(new Uri(location))["tenant"], Is.EqualTo("err"));
    }

    [TestCase("plain-state")]
    [TestCase("a b&c=d/é?#%")]
    [TestCase("eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2ln")]
    [Description("RFC 6749 §4.1.2: state is returned exactly as received")]
    public async Task AuthorizeRequest_WithState_ReturnsTheExactState(string state)
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = Request() with { State = state };
        var q = BrowserFlow.Query(await browser.AuthorizeAsync(request, user));
        Assert.That(q["state"], Is.EqualTo(state));
    }

    [Test, Description("RFC 6749 §4.1.2: no state sent, none returned")]
    public async Task AuthorizeRequest_WithoutState_ReturnsNoState()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var q = BrowserFlow.Query(await browser.AuthorizeAsync(Request() with { State = null }, user));
        Assert.That(q.ContainsKey("state"), Is.False);
        Assert.That(q.ContainsKey("code"), Is.True);
    }

    [Test, Description("OAuth 2.0 Form Post Response Mode §2")]
    public async Task AuthorizeRequest_WithFormPostResponseMode_ReturnsAutoSubmittingFormToRedirectUri()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = Request() with { Extra = new Dictionary<string, string?> { ["response_mode"] = "form_post" } };
        var consent = await BrowserFlow.HtmlAsync(await browser.SignInAsync(request, user));
        var response = await browser.DecideAsync(consent, approve: true);
        var html = await BrowserFlow.HtmlAsync(response);
        var fields = BrowserFlow.HiddenFields(html);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Headers.Location, Is.Null);
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
            Assert.That(BrowserFlow.FormAction(html), Is.EqualTo(Redirect));
            Assert.That(html, Does.Contain("<script src=\"/static/form-post.js\""));
            Assert.That(html, Does.Not.Contain("<script>"), "the CSP forbids inline script");
            Assert.That(fields.Keys, Is.EquivalentTo(new[] { "code", "state", "iss" }));
            Assert.That(fields["state"], Is.EqualTo(request.State));
            Assert.That(fields["iss"], Is.EqualTo(AuthlyApp.Issuer));
            Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("form-action https://rp.example"));
        });
        var tokens = await browser.ExchangeAsync(request, fields["code"]);
        Assert.That(tokens.ContainsKey("access_token"), Is.True);
    }

    [Test, Description("OAuth 2.0 Form Post Response Mode §2: errors are posted too")]
    public async Task AuthorizeRequest_ErrorWithFormPostResponseMode_PostsTheError()
    {
        using var browser = Browser();
        var request = Request() with { Extra = new Dictionary<string, string?> { ["response_mode"] = "form_post", ["code_challenge_method"] = "plain" } };
        var response = await browser.GetAsync(request.Url);
        var fields = BrowserFlow.HiddenFields(await BrowserFlow.HtmlAsync(response));
        Assert.Multiple(() =>
        {
            Assert.That(response.Headers.Location, Is.Null);
            Assert.That(fields["error"], Is.EqualTo("invalid_request"));
            Assert.That(fields["state"], Is.EqualTo(request.State));
            Assert.That(fields["iss"], Is.EqualTo(AuthlyApp.Issuer));
            Assert.That(fields.ContainsKey("code"), Is.False);
        });
    }

    [Test, Description("RFC 6749 §4.1.2.1: access_denied when the user denies")]
    public async Task AuthorizeRequest_WhenUserDenies_RedirectsAccessDeniedWithStateAndIss()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = Request();
        var consent = await BrowserFlow.HtmlAsync(await browser.SignInAsync(request, user));
        var response = await browser.DecideAsync(consent, approve: false);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var q = BrowserFlow.Query(response.Headers.Location!);
        Assert.Multiple(() =>
        {
            Assert.That(q["error"], Is.EqualTo("access_denied"));
            Assert.That(q["state"], Is.EqualTo(request.State));
            Assert.That(q["iss"], Is.EqualTo(AuthlyApp.Issuer));
            Assert.That(q.ContainsKey("code"), Is.False);
        });
    }

    private static async Task AssertTokenErrorAsync(HttpResponseMessage response, string error, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        var text = await response.Content.ReadAsStringAsync();
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(status), text);
            Assert.That(AuthlyApp.Str(body, "error"), Is.EqualTo(error));
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
            Assert.That(body.Select(kv => kv.Key), Is.SubsetOf(new[] { "error", "error_description", "error_uri" }));
            Assert.That(body.ContainsKey("access_token"), Is.False);
            Assert.That(text, Does.Not.Contain("replay").And.Not.Contain("another client").And.Not.Contain("Exception"));
        });
    }

    [Test, Description("RFC 6749 §4.1.2, §10.5: a reused code is refused and the tokens from its first use are revoked")]
    public async Task TokenRequest_WithReusedCode_ReturnsInvalidGrantAndRevokesFirstTokens()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = Request() with { Scope = "openid offline_access" };
        var code = await browser.CodeAsync(request, user);
        var first = await browser.ExchangeAsync(request, code);
        var access = AuthlyApp.Str(first, "access_token");
        var refresh = AuthlyApp.Str(first, "refresh_token");
        Assert.That(await browser.IsActiveAsync(access), Is.True);

        await AssertTokenErrorAsync(await browser.ExchangeRawAsync(_clientId, code, Redirect, request.Verifier), "invalid_grant");
        Assert.Multiple(async () =>
        {
            Assert.That(await browser.IsActiveAsync(access), Is.False, "access token of the first exchange");
            Assert.That(await browser.IsActiveAsync(refresh), Is.False, "refresh token of the first exchange");
        });
        var refreshed = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", _clientId));
        await AssertTokenErrorAsync(refreshed, "invalid_grant");
        var userinfo = await _app.BearerClient(access).GetAsync("/oidc/userinfo");
        Assert.That(userinfo.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test, Description("RFC 6749 §4.1.3: a code presented by another client is refused without burning it or revoking anything")]
    public async Task TokenRequest_WithCodeOfAnotherClient_LeavesTheCodeToItsClient()
    {
        var other = await BrowserFlow.CreatePublicClientAsync(_app, [Redirect]);
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = Request();
        var code = await browser.CodeAsync(request, user);
        await AssertTokenErrorAsync(await browser.ExchangeRawAsync(other, code, Redirect, request.Verifier), "invalid_grant");
        var rightful = await browser.ExchangeRawAsync(_clientId, code, Redirect, request.Verifier);
        Assert.That(rightful.StatusCode, Is.EqualTo(HttpStatusCode.OK), await rightful.Content.ReadAsStringAsync());
        var access = AuthlyApp.Str(await AuthlyApp.JsonAsync(rightful), "access_token");
        // The other client presenting the now-used code is still just invalid_grant: not a replay that revokes.
        await AssertTokenErrorAsync(await browser.ExchangeRawAsync(other, code, Redirect, request.Verifier), "invalid_grant");
        var userinfo = await _app.BearerClient(access).GetAsync("/oidc/userinfo");
        Assert.That(userinfo.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test, Description("RFC 6749 §4.1.2: codes are short-lived; an expired code is invalid_grant")]
    public async Task TokenRequest_WithExpiredCode_ReturnsInvalidGrant()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = Request();
        var code = await browser.CodeAsync(request, user);
        var changed = await browser.ExecuteSqlAsync(
            "UPDATE authorization_codes SET expires_at = now() - interval '1 second' WHERE user_id = @Id AND consumed_at IS NULL", new { user.Id });
        Assert.That(changed, Is.EqualTo(1));
        await AssertTokenErrorAsync(await browser.ExchangeRawAsync(_clientId, code, Redirect, request.Verifier), "invalid_grant");
    }

    [Test, Description("RFC 6749 §4.1.3: redirect_uri must be identical to the one in the authorization request")]
    public async Task TokenRequest_WithOtherRegisteredRedirectUri_ReturnsInvalidGrant()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = Request();
        var code = await browser.CodeAsync(request, user);
        await AssertTokenErrorAsync(await browser.ExchangeRawAsync(_clientId, code, "https://rp.example/other", request.Verifier), "invalid_grant");
    }

    [Test, Description("RFC 6749 §4.1.3: redirect_uri is required when it was in the authorization request")]
    public async Task TokenRequest_WithoutRedirectUri_ReturnsInvalidRequest()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = Request();
        var code = await browser.CodeAsync(request, user);
        var response = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "authorization_code"), ("client_id", _clientId),
            ("code", code), ("code_verifier", request.Verifier));
        await AssertTokenErrorAsync(response, "invalid_request");
    }

    [Test, Description("RFC 6749 §4.1.3: code is required")]
    public async Task TokenRequest_WithoutCode_ReturnsInvalidRequest()
    {
        var response = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "authorization_code"), ("client_id", _clientId),
            ("redirect_uri", Redirect), ("code_verifier", BrowserFlow.NewVerifier()));
        await AssertTokenErrorAsync(response, "invalid_request");
    }

    [Test, Description("RFC 6749 §5.2: an unknown code is invalid_grant")]
    public async Task TokenRequest_WithUnknownCode_ReturnsInvalidGrant()
    {
        using var browser = Browser();
        await AssertTokenErrorAsync(await browser.ExchangeRawAsync(_clientId, "not-a-code", Redirect, BrowserFlow.NewVerifier()), "invalid_grant");
    }

    [Test, Description("RFC 6749 §3.2: repeated parameters at the token endpoint")]
    public async Task TokenRequest_WithRepeatedCode_ReturnsInvalidRequest()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = Request();
        var code = await browser.CodeAsync(request, user);
        var response = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "authorization_code"), ("client_id", _clientId),
            ("code", code), ("code", code), ("redirect_uri", Redirect), ("code_verifier", request.Verifier));
        await AssertTokenErrorAsync(response, "invalid_request");
    }

    [Test, Description("RFC 6749 §4.1.3: a public client must name itself")]
    public async Task TokenRequest_WithoutClientId_ReturnsInvalidClient()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = Request();
        var code = await browser.CodeAsync(request, user);
        var response = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "authorization_code"),
            ("code", code), ("redirect_uri", Redirect), ("code_verifier", request.Verifier));
        await AssertTokenErrorAsync(response, "invalid_client", HttpStatusCode.Unauthorized);
    }

    [Test, Description("RFC 6749 §1.5: no refresh token unless offline_access or the refresh_token grant")]
    public async Task TokenRequest_ForClientWithoutRefreshGrant_ReturnsNoRefreshToken()
    {
        var clientId = await BrowserFlow.CreatePublicClientAsync(_app, [Redirect], scope: "openid profile", grants: ["authorization_code"]);
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var tokens = await browser.TokensAsync(new BrowserFlow.Request(clientId, Redirect, "openid profile"), user);
        Assert.That(tokens.ContainsKey("refresh_token"), Is.False);
        Assert.That(tokens.ContainsKey("id_token"), Is.True);
    }

    [Test, Description("OIDC Core §3.1.3.3: no ID token without openid")]
    public async Task TokenRequest_WithoutOpenIdScope_ReturnsNoIdToken()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var tokens = await browser.TokensAsync(Request() with { Scope = "profile" }, user);
        Assert.That(tokens.ContainsKey("id_token"), Is.False);
        Assert.That(AuthlyApp.Str(tokens, "scope"), Is.EqualTo("profile"));
    }

    [Test, Description("OIDC Core §3.1.2.1: display, ui_locales, acr_values, prompt=select_account and login_hint are accepted")]
    public async Task AuthorizeRequest_WithOptionalOidcParameters_Completes()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = Request() with
        {
            Extra = new Dictionary<string, string?>
            {
                ["display"] = "page", ["ui_locales"] = "fr-CA fr en", ["acr_values"] = "urn:mace:incommon:iap:silver",
                ["prompt"] = "select_account", ["login_hint"] = user.Username,
            },
        };
        var q = BrowserFlow.Query(await browser.AuthorizeAsync(request, user));
        Assert.That(q.ContainsKey("code"), Is.True, string.Join("&", q));
    }

    [Test, Description("A GET can never carry the consent decision: approved=true in the query does not skip the consent page")]
    public async Task AuthorizeRequest_GetWithApprovedParameter_StillShowsConsentPage()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = Request();
        var consent = await BrowserFlow.HtmlAsync(await browser.SignInAsync(request, user));
        var csrf = BrowserFlow.HiddenFields(consent)["csrf_token"];
        var response = await browser.GetAsync(request.Url + "&approved=true&csrf_token=" + Uri.EscapeDataString(csrf));
        Assert.That(response.Headers.Location, Is.Null);
        Assert.That(BrowserFlow.IsConsentPage(await BrowserFlow.HtmlAsync(response)), Is.True);
    }

    [Test, Description("RFC 6749 §4.1.1: a single registered redirect URI may be omitted from the authorization request")]
    public async Task AuthorizeRequest_WithoutRedirectUriWhenOneIsRegistered_UsesTheRegisteredUri()
    {
        var clientId = await BrowserFlow.CreatePublicClientAsync(_app, ["https://single.example/cb"]);
        var user = await _app.RegisterUserAsync();
        using var browser = Browser();
        var request = new BrowserFlow.Request(clientId, "https://single.example/cb") { Extra = new Dictionary<string, string?> { ["redirect_uri"] = null } };
        var location = await browser.AuthorizeAsync(request, user);
        Assert.That(location.GetLeftPart(UriPartial.Path), Is.EqualTo("https://single.example/cb"));
    }
}
