using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc9207;

/// <summary>RFC 9207: every authorization response, success or error, carries iss equal to the issuer.</summary>
[TestFixture, Category("RFC9207")]
public sealed class IssuerParameterTests : RelyingPartyFixture
{
    [Test, Description("RFC 9207 §2")]
    public async Task SuccessResponse_CarriesIssEqualToIssuer()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var location = await browser.AuthorizeAsync(new BrowserFlow.Request(_clientId, Redirect), user);
        Assert.That(location.OriginalString, Does.Contain("&iss=http%3A%2F%2Flocalhost"), "iss is URL-encoded");
        Assert.That(BrowserFlow.Query(location)["iss"], Is.EqualTo(AuthlyApp.Issuer));
    }

    [Test, Description("RFC 9207 §2: error responses too")]
    public async Task ErrorResponse_CarriesIss()
    {
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect) { Extra = new Dictionary<string, string?> { ["scope"] = "nope" } };
        var response = await browser.GetAsync(request.Url);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        var q = BrowserFlow.Query(response.Headers.Location!);
        Assert.That(q["error"], Is.EqualTo("invalid_scope"));
        Assert.That(q["iss"], Is.EqualTo(AuthlyApp.Issuer));
    }

    [Test, Description("RFC 9207 §2; OIDC Core §3.1.2.6: prompt=none errors too")]
    public async Task LoginRequiredResponse_CarriesIss()
    {
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect) { Extra = new Dictionary<string, string?> { ["prompt"] = "none" } };
        var q = BrowserFlow.Query((await browser.GetAsync(request.Url)).Headers.Location!);
        Assert.That(q["error"], Is.EqualTo("login_required"));
        Assert.That(q["iss"], Is.EqualTo(AuthlyApp.Issuer));
    }

    [Test, Description("RFC 9207 §2.2: the iss value equals the issuer in the metadata, which says it is supported")]
    public async Task Discovery_IssuerMatchesAndIssParameterIsAdvertised()
    {
        foreach (var path in new[] { "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server" })
        {
            var doc = await AuthlyApp.JsonAsync(await _app.CreateClient().GetAsync(path));
            Assert.That(AuthlyApp.Str(doc, "issuer"), Is.EqualTo(AuthlyApp.Issuer), path);
            Assert.That(doc["authorization_response_iss_parameter_supported"]!.GetValue<bool>(), Is.True, path);
        }
    }

    [Test, Description("RFC 9207 §2: the issuer is the configured one, not taken from the request's Host")]
    public async Task ErrorResponse_WithForeignHostHeader_StillCarriesConfiguredIssuer()
    {
        using var browser = new BrowserFlow(_app);
        browser.Http.DefaultRequestHeaders.Host = "evil.example";
        var request = new BrowserFlow.Request(_clientId, Redirect) { Extra = new Dictionary<string, string?> { ["scope"] = "nope" } };
        var q = BrowserFlow.Query((await browser.GetAsync(request.Url)).Headers.Location!);
        Assert.That(q["iss"], Is.EqualTo(AuthlyApp.Issuer));
    }
}
