using System.Net;
using Authly.Clients;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Redirect URI manipulation (RFC 9700 §4.1): an attacker who gets the authorization response sent
/// to a URI of their choosing steals the code. The only relaxation of exact matching is RFC 8252
/// §7.3's: a native app's loopback IP redirect (http, 127.0.0.1 or [::1]) may use any port,
/// because the app listens on whatever port the OS gives it. Path and query stay exact, and no
/// other URI (localhost, https, another host or address) gets any port freedom.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class RedirectUriAttacks : AppFixture
{
    private const string V4 = "http://127.0.0.1:8400/cb";
    private const string V4NoPort = "http://127.0.0.1/native";
    private const string V6WithQuery = "http://[::1]/cb?app=1";
    private const string Localhost = "http://localhost:8400/cb";
    private const string HttpsLoopback = "https://127.0.0.1:8443/cb";
    private const string Web = "https://rp.example:8443/cb";
    private string _clientId = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _clientId = await BrowserFlow.CreatePublicClientAsync(_app, [V4, V4NoPort, V6WithQuery, Localhost, HttpsLoopback, Web]);
    }

    [TestCase("http://127.0.0.1:51234/cb")]
    [TestCase("http://127.0.0.1/cb")]
    [TestCase("http://127.0.0.1:1/cb")]
    [TestCase("http://127.0.0.1:65535/cb")]
    [TestCase("http://127.0.0.1:40000/native")]
    [TestCase("http://[::1]:60000/cb?app=1")]
    [TestCase("http://[::1]/cb?app=1")]
    [Description("RFC 8252 §7.3: the authorization server MUST allow any port for loopback IP redirect URIs")]
    public async Task Rfc8252Section7_3_LoopbackIpRedirectWithAnyPort_IsAccepted(string redirectUri)
    {
        Assert.That(ClientRules.MatchesRegisteredRedirectUri([V4, V4NoPort, V6WithQuery], redirectUri), Is.True);
        using var browser = new BrowserFlow(_app);
        var response = await browser.GetAsync(new BrowserFlow.Request(_clientId, redirectUri).Url);
        var html = await response.Content.ReadAsStringAsync();
        Assert.That(BrowserFlow.IsLoginPage(html), Is.True, $"the request was refused ({(int)response.StatusCode}): {html}");
    }

    [Test, Description("RFC 8252 §7.3; RFC 6749 §4.1.3: the code goes to the port the app asked for, and the token request names that URI")]
    public async Task Rfc8252Section7_3_CodeForAnotherLoopbackPort_IsRedeemedWithTheUriOfTheRequestOnly()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, "http://127.0.0.1:51234/cb", "openid");
        var location = await browser.AuthorizeAsync(request, user);
        Assert.That(location.GetLeftPart(UriPartial.Path), Is.EqualTo("http://127.0.0.1:51234/cb"));
        var code = BrowserFlow.Query(location)["code"];

        // The registered form (another port) is not the URI the code was issued for.
        var registered = await browser.ExchangeRawAsync(_clientId, code, V4, request.Verifier);
        Assert.That(registered.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await registered.Content.ReadAsStringAsync(), Does.Contain("invalid_grant"));

        var other = new BrowserFlow.Request(_clientId, "http://127.0.0.1:51234/cb", "openid");
        var code2 = BrowserFlow.Query(await browser.AuthorizeAsync(other, user))["code"];
        var tokens = await browser.ExchangeAsync(other, code2);
        Assert.That(tokens.ContainsKey("access_token"), Is.True);
    }

    [TestCase("http://localhost:9999/cb", Description = "localhost is a name, not an IP literal: RFC 8252 §8.3 says not to rely on it")]
    [TestCase("http://localhost/cb")]
    [TestCase("https://127.0.0.1:9443/cb", Description = "https is not the loopback rule's scheme")]
    [TestCase("https://127.0.0.1/cb")]
    [TestCase("http://127.0.0.1:51234/other", Description = "the path stays exact")]
    [TestCase("http://127.0.0.1:51234/cb/")]
    [TestCase("http://127.0.0.1:51234/CB")]
    [TestCase("http://127.0.0.1:51234/cb?x=1", Description = "the query stays exact")]
    [TestCase("http://[::1]:60000/cb", Description = "the registered query is missing")]
    [TestCase("http://[::1]:60000/cb?app=2")]
    [TestCase("http://127.0.0.1:51234/cb#f")]
    [TestCase("http://127.0.0.2:8400/cb", Description = "another loopback address is not the registered one")]
    [TestCase("http://127.0.0.2:51234/cb")]
    [TestCase("http://[::1]:8400/cb", Description = "IPv6 loopback for a URI registered on IPv4")]
    [TestCase("http://[0:0:0:0:0:0:0:1]:60000/cb?app=1", Description = "the literal, as registered")]
    [TestCase("https://rp.example:9443/cb", Description = "a registered non-loopback URI with another port")]
    [TestCase("https://rp.example/cb")]
    [TestCase("http://127.0.0.1:51234@evil.example/cb", Description = "userinfo that makes the host evil.example")]
    [TestCase("http://127.0.0.1:8400.evil.example/cb")]
    [TestCase("http://127.0.0.1.evil.example:8400/cb")]
    [TestCase("HTTP://127.0.0.1:51234/cb", Description = "exactly as written: lower-case scheme")]
    [TestCase("http://127.0.0.1:051234/cb", Description = "not a port number")]
    [TestCase("http://127.0.0.1:65536/cb")]
    [TestCase("http://127.0.0.1:0/cb")]
    [TestCase("http://127.0.0.1:/cb")]
    [TestCase("http://127.0.0.1:+80/cb")]
    [TestCase("http://127.0.0.1:51234\\@evil.example/cb")]
    [Description("RFC 9700 §4.1: exact redirect URI matching; RFC 8252 §7.3 relaxes the port of loopback IP literals over http only")]
    public async Task RedirectUriAttack_AnythingButTheLoopbackPort_IsRefusedWithoutRedirect(string redirectUri)
    {
        Assert.That(ClientRules.MatchesRegisteredRedirectUri([V4, V4NoPort, V6WithQuery, Localhost, HttpsLoopback, Web], redirectUri), Is.False);
        using var browser = new BrowserFlow(_app);
        var response = await browser.GetAsync(new BrowserFlow.Request(_clientId, redirectUri).Url);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.Headers.Location, Is.Null, "an unregistered redirect_uri must never be redirected to");
            Assert.That(BrowserFlow.IsLoginPage(html), Is.False, "the request went on to the login page");
            Assert.That(html, Does.Contain("redirect_uri"));
        });
    }
}
