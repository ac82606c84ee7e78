using System.Net;
using Authly.Tests.Infrastructure;
using Authly.Tests.Rfc9126;

namespace Authly.Tests.Attacks;

/// <summary>Issue 17: a request_uri used twice, by another client, or after it expired issues no code.</summary>
[TestFixture, Category("Attacks")]
public sealed class PushedRequestAttacks : RelyingPartyFixture
{
    private static void AssertRefusedPage(HttpResponseMessage response, string html)
    {
        Assert.That(response.Headers.Location, Is.Null, "nothing in the request can be trusted: never redirected");
        Assert.That(html, Does.Contain("request_uri").And.Not.Contain("code="));
    }

    [Test, Description("RFC 9126 §4: a request_uri issues one code; using it again shows the error page")]
    public async Task RequestUri_UsedTwice_IssuesNoSecondCode()
    {
        var user = await _app.RegisterUserAsync();
        var requestUri = await PushedAuthorizationTests.RequestUriAsync(await PushedAuthorizationTests.PushAsync(_app, new BrowserFlow.Request(_clientId, Redirect)));
        using var browser = new BrowserFlow(_app);
        var front = PushedAuthorizationTests.PushedRequest(_clientId, Redirect, requestUri);
        Assert.That(BrowserFlow.Query(await browser.AuthorizeAsync(front, user)).ContainsKey("code"), Is.True);
        var again = await browser.GetAsync(front.Url);
        AssertRefusedPage(again, await again.Content.ReadAsStringAsync());
    }

    [Test, Description("RFC 9126 §4: a request_uri is bound to the client that pushed it; another client_id with it is refused, and the owner can still use it")]
    public async Task RequestUri_UsedByAnotherClient_IsRefused()
    {
        var user = await _app.RegisterUserAsync();
        var other = await BrowserFlow.CreatePublicClientAsync(_app, ["https://attacker.example/cb"]);
        var requestUri = await PushedAuthorizationTests.RequestUriAsync(await PushedAuthorizationTests.PushAsync(_app, new BrowserFlow.Request(_clientId, Redirect)));
        using var browser = new BrowserFlow(_app);
        var stolen = await browser.GetAsync(PushedAuthorizationTests.PushedRequest(other, "https://attacker.example/cb", requestUri).Url);
        AssertRefusedPage(stolen, await stolen.Content.ReadAsStringAsync());
        var q = BrowserFlow.Query(await browser.AuthorizeAsync(PushedAuthorizationTests.PushedRequest(_clientId, Redirect, requestUri), user));
        Assert.That(q.ContainsKey("code"), Is.True, "the attempt did not burn the owner's request");
    }

    [Test, Description("RFC 9126 §2.2: a request_uri not used within expires_in is refused")]
    public async Task RequestUri_Expired_IsRefused()
    {
        var requestUri = await PushedAuthorizationTests.RequestUriAsync(await PushedAuthorizationTests.PushAsync(_app, new BrowserFlow.Request(_clientId, Redirect)));
        using var browser = new BrowserFlow(_app);
        // The database's clock decides; the row is moved past its expiry instead of waiting a minute.
        Assert.That(await browser.ExecuteSqlAsync("UPDATE pushed_authorization_requests SET expires_at = now() - interval '1 second' WHERE client_id = @C", new { C = _clientId }),
            Is.GreaterThan(0));
        var response = await browser.GetAsync(PushedAuthorizationTests.PushedRequest(_clientId, Redirect, requestUri).Url);
        AssertRefusedPage(response, await response.Content.ReadAsStringAsync());
    }

    [Test, Description("RFC 9126 §4: a made-up request_uri is refused without a redirect")]
    public async Task RequestUri_Guessed_IsRefused()
    {
        using var browser = new BrowserFlow(_app);
        var response = await browser.GetAsync(PushedAuthorizationTests.PushedRequest(_clientId, Redirect, "urn:ietf:params:oauth:request_uri:" + new string('A', 43)).Url);
        Assert.That(response.StatusCode, Is.Not.EqualTo(HttpStatusCode.Redirect));
        AssertRefusedPage(response, await response.Content.ReadAsStringAsync());
    }
}
