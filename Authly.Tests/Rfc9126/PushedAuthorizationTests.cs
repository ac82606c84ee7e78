using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc9126;

/// <summary>RFC 9126: the pushed authorization request endpoint and request_uri at the authorization endpoint.</summary>
[TestFixture, Category("RFC9126")]
public sealed class PushedAuthorizationTests : RelyingPartyFixture
{
    internal static BrowserFlow.Request PushedRequest(string clientId, string redirect, string requestUri) =>
        new BrowserFlow.Request(clientId, redirect) with
        {
            State = null,
            Extra = new Dictionary<string, string?>
            {
                ["response_type"] = null, ["redirect_uri"] = null, ["scope"] = null, ["code_challenge"] = null,
                ["code_challenge_method"] = null, ["request_uri"] = requestUri,
            },
        };

    /// <summary>Pushes <paramref name="request"/>'s parameters as a public client; returns the response.</summary>
    internal static Task<HttpResponseMessage> PushAsync(AuthlyApp app, BrowserFlow.Request request, params (string, string)[] more) =>
        app.PostFormAsync(ParPath, [.. request.Parameters.Select(kv => (kv.Key, kv.Value)), .. more]);

    internal static async Task<string> RequestUriAsync(HttpResponseMessage pushed)
    {
        var body = await AuthlyApp.JsonAsync(pushed);
        Assert.That(pushed.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToJsonString());
        return AuthlyApp.Str(body, "request_uri");
    }

    [Test, Description("RFC 9126 §2.2: 201 with request_uri (urn:ietf:params:oauth:request_uri:) and expires_in, not cached")]
    public async Task Push_ValidRequest_Answers201WithRequestUriAndExpiresIn()
    {
        var response = await PushAsync(_app, new BrowserFlow.Request(_clientId, Redirect));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToJsonString());
            Assert.That(AuthlyApp.Str(body, "request_uri"), Does.StartWith("urn:ietf:params:oauth:request_uri:").And.Length.GreaterThan(70));
            Assert.That(body["expires_in"]!.GetValue<int>(), Is.EqualTo(60));
            OAuthAssert.NoStore(response);
        });
    }

    [Test, Description("RFC 9126 §4: /authorize with client_id and request_uri runs the pushed request; the code redeems as usual")]
    public async Task Authorize_WithRequestUri_IssuesCodeForThePushedRequest()
    {
        var user = await _app.RegisterUserAsync();
        var request = new BrowserFlow.Request(_clientId, Redirect, Scope: "openid profile");
        var requestUri = await RequestUriAsync(await PushAsync(_app, request));
        using var browser = new BrowserFlow(_app);
        // A scope in the URL is ignored (§4): only what was pushed counts.
        var front = PushedRequest(_clientId, Redirect, requestUri);
        front = front with { Extra = new Dictionary<string, string?>(front.Extra) { ["scope"] = "openid profile email phone" } };
        var q = BrowserFlow.Query(await browser.AuthorizeAsync(front, user));
        Assert.That(q["state"], Is.EqualTo(request.State), "the pushed state comes back");
        var tokens = await browser.ExchangeAsync(request, q["code"]);
        Assert.That(AuthlyApp.Str(tokens, "scope").Split(' '), Is.EquivalentTo(new[] { "openid", "profile" }));
    }

    [TestCase("code_challenge", null, "invalid_request")]
    [TestCase("scope", "not-a-scope-of-this-client", "invalid_scope")]
    [TestCase("redirect_uri", "https://evil.example/cb", "invalid_request")]
    [TestCase("request_uri", "urn:ietf:params:oauth:request_uri:abc", "invalid_request")]
    [Description("RFC 9126 §2.3: a request /authorize would refuse is refused at the PAR endpoint, answered not redirected, and stores nothing")]
    public async Task Push_InvalidRequest_IsRefusedAndStoresNothing(string field, string? value, string error)
    {
        var before = await _app.StateSnapshotAsync();
        var request = new BrowserFlow.Request(_clientId, Redirect) { Extra = new Dictionary<string, string?> { [field] = value } };
        await OAuthAssert.ErrorAsync(await PushAsync(_app, request), HttpStatusCode.BadRequest, error);
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
    }

    [Test, Description("RFC 9126 §2: a confidential client must authenticate at the PAR endpoint")]
    public async Task Push_ByConfidentialClientWithoutAuthentication_IsInvalidClient()
    {
        var (id, _) = await _app.CreateClientAsync(new
        {
            client_name = "conf rp", client_type = "confidential", redirect_uris = new[] { Redirect }, scope = "openid profile",
            grant_types = new[] { "authorization_code" },
        });
        await OAuthAssert.InvalidClientAsync(await PushAsync(_app, new BrowserFlow.Request(id, Redirect, Scope: "openid")));
    }

    [Test, Description("RFC 9126 §6: a client registered with require_pushed_authorization_requests gets invalid_request for a request that was not pushed")]
    public async Task Authorize_NotPushedForClientThatRequiresPar_RedirectsInvalidRequest()
    {
        var (id, _) = await _app.CreateClientAsync(new
        {
            client_name = "par-only rp", client_type = "public", redirect_uris = new[] { Redirect }, scope = "openid profile",
            grant_types = new[] { "authorization_code" }, require_pushed_authorization_requests = true,
        });
        using var browser = new BrowserFlow(_app);
        var response = await browser.GetAsync(new BrowserFlow.Request(id, Redirect, Scope: "openid").Url);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await response.Content.ReadAsStringAsync());
        var q = BrowserFlow.Query(response.Headers.Location!);
        Assert.That(q["error"], Is.EqualTo("invalid_request"));
        Assert.That(q.ContainsKey("code"), Is.False);
    }

    [Test, Description("RFC 9126 §5: discovery names the PAR endpoint and whether PAR is required")]
    public async Task Discovery_NamesParEndpoint()
    {
        var body = System.Text.Json.Nodes.JsonNode.Parse(await _app.CreateClient().GetStringAsync("/.well-known/openid-configuration"))!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(body, "pushed_authorization_request_endpoint"), Is.EqualTo(AuthlyApp.Issuer + ParPath));
            Assert.That(body["require_pushed_authorization_requests"]!.GetValue<bool>(), Is.False);
        });
    }
}
