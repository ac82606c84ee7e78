using System.Net;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc7636;

/// <summary>RFC 7636 as OAuth 2.1 narrows it: S256 only, a challenge on every authorization request, the verifier checked at the token endpoint.</summary>
[TestFixture, Category("RFC7636")]
public sealed class PkceTests : RelyingPartyFixture
{
    private async Task AssertRedirectErrorAsync(Dictionary<string, string?> extra, string error = "invalid_request")
    {
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect) { Extra = extra };
        var response = await browser.GetAsync(request.Url);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await response.Content.ReadAsStringAsync());
        var q = BrowserFlow.Query(response.Headers.Location!);
        Assert.Multiple(() =>
        {
            Assert.That(response.Headers.Location!.GetLeftPart(UriPartial.Path), Is.EqualTo(Redirect));
            Assert.That(q["error"], Is.EqualTo(error));
            Assert.That(q["state"], Is.EqualTo(request.State));
            Assert.That(q["iss"], Is.EqualTo(AuthlyApp.Issuer));
            Assert.That(q.ContainsKey("code"), Is.False);
        });
    }

    [Test, Description("RFC 7636 §4.3, §4.4.1; OAuth 2.1 §4.1.1: plain is not offered")]
    public Task AuthorizeRequest_WithPlainMethod_RedirectsInvalidRequest() =>
        AssertRedirectErrorAsync(new() { ["code_challenge_method"] = "plain" });

    [Test, Description("RFC 7636 §4.3: the method defaults to plain, which is not offered")]
    public Task AuthorizeRequest_WithoutChallengeMethod_RedirectsInvalidRequest() =>
        AssertRedirectErrorAsync(new() { ["code_challenge_method"] = null });

    [Test, Description("RFC 7636 §4.4.1: method names are case-sensitive")]
    public Task AuthorizeRequest_WithLowercaseS256_RedirectsInvalidRequest() =>
        AssertRedirectErrorAsync(new() { ["code_challenge_method"] = "s256" });

    [Test, Description("RFC 7636 §4.4.1; OAuth 2.1 §4.1.1: a challenge is required")]
    public Task AuthorizeRequest_WithoutChallenge_RedirectsInvalidRequest() =>
        AssertRedirectErrorAsync(new() { ["code_challenge"] = null });

    [TestCase(42, TestName = "AuthorizeRequest_WithChallengeOf42Characters_RedirectsInvalidRequest")]
    [TestCase(129, TestName = "AuthorizeRequest_WithChallengeOf129Characters_RedirectsInvalidRequest")]
    [Description("RFC 7636 §4.2: 43-128 characters")]
    public Task AuthorizeRequest_WithChallengeOfWrongLength_RedirectsInvalidRequest(int length) =>
        AssertRedirectErrorAsync(new() { ["code_challenge"] = new string('a', length) });

    [Test, Description("RFC 7636 §4.2: unreserved characters only")]
    public Task AuthorizeRequest_WithChallengeOfInvalidCharacters_RedirectsInvalidRequest() =>
        AssertRedirectErrorAsync(new() { ["code_challenge"] = new string('a', 42) + "+" });

    private async Task<(BrowserFlow.Request Request, string Code)> CodeAsync(string? verifier = null)
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect);
        if (verifier is not null) request = request with { Verifier = verifier };
        return (request, await browser.CodeAsync(request, user));
    }

    private async Task<HttpResponseMessage> ExchangeAsync(string code, string? verifier)
    {
        var fields = new List<(string, string)> { ("grant_type", "authorization_code"), ("client_id", _clientId), ("code", code), ("redirect_uri", Redirect) };
        if (verifier is not null) fields.Add(("code_verifier", verifier));
        return await _app.PostFormAsync("/api/v1/oauth/token", fields.ToArray());
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, string error)
    {
        var text = await response.Content.ReadAsStringAsync();
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), text);
            Assert.That(AuthlyApp.Str(body, "error"), Is.EqualTo(error));
            Assert.That(body.ContainsKey("access_token"), Is.False);
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
        });
    }

    [TestCase(43)]
    [TestCase(128)]
    [Description("RFC 7636 §4.1: verifiers of 43 and 128 characters are valid")]
    public async Task TokenRequest_WithVerifierAtLengthBoundary_Succeeds(int length)
    {
        var verifier = BrowserFlow.NewVerifier(length);
        var (request, code) = await CodeAsync(verifier);
        var response = await ExchangeAsync(code, request.Verifier);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    [Test, Description("RFC 7636 §4.1: the full unreserved alphabet, including '-._~'")]
    public async Task TokenRequest_WithVerifierUsingAllUnreservedCharacters_Succeeds()
    {
        const string verifier = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
        var (_, code) = await CodeAsync(verifier);
        var response = await ExchangeAsync(code, verifier);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    [Test, Description("RFC 7636 §4.6: a verifier that does not hash to the challenge is invalid_grant")]
    public async Task TokenRequest_WithWrongVerifier_ReturnsInvalidGrant()
    {
        var (_, code) = await CodeAsync();
        await AssertErrorAsync(await ExchangeAsync(code, BrowserFlow.NewVerifier()), "invalid_grant");
    }

    [Test, Description("RFC 7636 §4.6: the challenge itself is not the verifier")]
    public async Task TokenRequest_WithChallengeAsVerifier_ReturnsInvalidGrant()
    {
        var (request, code) = await CodeAsync();
        await AssertErrorAsync(await ExchangeAsync(code, request.Challenge), "invalid_grant");
    }

    [Test, Description("RFC 7636 §4.1: a 42-character verifier is malformed")]
    public async Task TokenRequest_WithVerifierOf42Characters_ReturnsInvalidGrant()
    {
        // The challenge is the S256 of the short verifier, so only the length rule can refuse it.
        var shortVerifier = BrowserFlow.NewVerifier(42);
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect) { Verifier = shortVerifier };
        var code = await browser.CodeAsync(request, user);
        await AssertErrorAsync(await ExchangeAsync(code, shortVerifier), "invalid_grant");
    }

    [Test, Description("RFC 7636 §4.1: a 129-character verifier is malformed")]
    public async Task TokenRequest_WithVerifierOf129Characters_ReturnsInvalidGrant()
    {
        var longVerifier = BrowserFlow.NewVerifier(129);
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect) { Verifier = longVerifier };
        var code = await browser.CodeAsync(request, user);
        await AssertErrorAsync(await ExchangeAsync(code, longVerifier), "invalid_grant");
    }

    [Test, Description("RFC 7636 §4.1: characters outside the unreserved set are malformed")]
    public async Task TokenRequest_WithVerifierOfInvalidCharacters_ReturnsInvalidGrant()
    {
        var badVerifier = BrowserFlow.NewVerifier(50) + "+/=";
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect) { Verifier = badVerifier };
        var code = await browser.CodeAsync(request, user);
        await AssertErrorAsync(await ExchangeAsync(code, badVerifier), "invalid_grant");
    }

    [Test, Description("RFC 7636 §4.1, §7.1: a verifier belongs to one authorization request; reusing it for another code fails")]
    public async Task TokenRequest_WithVerifierOfEarlierRequest_ReturnsInvalidGrant()
    {
        var (first, firstCode) = await CodeAsync();
        Assert.That((await ExchangeAsync(firstCode, first.Verifier)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var (_, secondCode) = await CodeAsync();
        await AssertErrorAsync(await ExchangeAsync(secondCode, first.Verifier), "invalid_grant");
    }

    [Test, Description("RFC 7636 §4.5; OAuth 2.1 §4.1.3: code_verifier is required")]
    public async Task TokenRequest_WithoutVerifier_ReturnsInvalidRequest()
    {
        var (_, code) = await CodeAsync();
        await AssertErrorAsync(await ExchangeAsync(code, null), "invalid_request");
    }

    [Test, Description("RFC 7636 §4.6: an empty verifier")]
    public async Task TokenRequest_WithEmptyVerifier_IsRefused()
    {
        var (_, code) = await CodeAsync();
        var response = await ExchangeAsync(code, "");
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(AuthlyApp.Str(body, "error"), Is.AnyOf("invalid_request", "invalid_grant"));
    }

    [Test, Description("Discovery advertises S256 only (RFC 8414 §2)")]
    public async Task Discovery_AdvertisesOnlyS256()
    {
        var doc = await AuthlyApp.JsonAsync(await _app.CreateClient().GetAsync("/.well-known/openid-configuration"));
        Assert.That(doc["code_challenge_methods_supported"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "S256" }));
    }
}
