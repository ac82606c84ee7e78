using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc7009;

/// <summary>RFC 7009 token revocation, with API.md's JSON variant and family rule.</summary>
[TestFixture, Category("RFC7009")]
public sealed class RevocationTests : AppFixture
{
    private AuthlyApp.TestUser _user = null!;
    private (string Id, string Secret) _clientA;
    private (string Id, string Secret) _clientB;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _user = await _app.CreateUserAsync();
        var a = await _app.CreateConfidentialClientAsync(grants: ["password", "refresh_token"]);
        var b = await _app.CreateConfidentialClientAsync(grants: ["password", "refresh_token"]);
        (_clientA, _clientB) = ((a.Id, a.Secret!), (b.Id, b.Secret!));
    }

    /// <summary>(access, refresh) for the fixture's user: first-party when no client is given.</summary>
    private async Task<(string Access, string Refresh)> LoginAsync((string Id, string Secret)? client = null)
    {
        // Without a client the grant yields first-party scopes only (issue 11).
        (string, string)[] fields = [("grant_type", "password"), ("username", _user.Username), ("password", _user.Password), ("scope", client is null ? "account:read" : "read")];
        var response = client is { } c ? await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(c.Id, c.Secret), fields) : await _app.PostFormAsync(TokenPath, fields);
        var body = await OAuthAssert.TokenAsync(response);
        return (AuthlyApp.Str(body, "access_token"), AuthlyApp.Str(body, "refresh_token"));
    }

    private async Task<bool> IsActiveAsync(string token) =>
        (await AuthlyApp.JsonAsync(await _app.PostFormAsync("/api/v1/oauth/introspect", ("token", token))))["active"]!.GetValue<bool>();

    private Task<HttpResponseMessage> RevokeJsonAsync(JsonObject body, AuthenticationHeaderValue? auth = null)
    {
        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = auth;
        return http.PostAsync(RevokePath, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
    }

    private static async Task AssertOkAsync(HttpResponseMessage response) =>
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());

    [Test, Description("RFC 7009 §2.1 (form); API.md: revoking an access token revokes that token only")]
    public async Task Revoke_AccessTokenWithForm_MakesItInactiveAndLeavesRefreshTokenWorking()
    {
        var (access, refresh) = await LoginAsync();
        await AssertOkAsync(await _app.PostFormAsync(RevokePath, ("token", access), ("token_type_hint", "access_token")));
        Assert.That(await IsActiveAsync(access), Is.False);
        Assert.That(await IsActiveAsync(refresh), Is.True);

        var refreshed = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh)));
        Assert.That(await IsActiveAsync(AuthlyApp.Str(refreshed, "access_token")), Is.True);
    }

    [Test, Description("API.md: JSON {\"token\",\"token_type_hint\"} is accepted too")]
    public async Task Revoke_AccessTokenWithJson_MakesItInactive()
    {
        var (access, _) = await LoginAsync();
        await AssertOkAsync(await RevokeJsonAsync(new JsonObject { ["token"] = access, ["token_type_hint"] = "access_token" }));
        Assert.That(await IsActiveAsync(access), Is.False);
    }

    [Test, Description("RFC 7009 §2.1; API.md: revoking a refresh token revokes its family and the access tokens issued from it")]
    public async Task Revoke_RefreshToken_RevokesTheFamilyAndItsAccessTokens()
    {
        var (access0, refresh0) = await LoginAsync();
        var rotated = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh0)));
        var (access1, refresh1) = (AuthlyApp.Str(rotated, "access_token"), AuthlyApp.Str(rotated, "refresh_token"));

        await AssertOkAsync(await RevokeJsonAsync(new JsonObject { ["token"] = refresh1, ["token_type_hint"] = "refresh_token" }));
        foreach (var (name, token) in new[] { ("access0", access0), ("access1", access1), ("refresh1", refresh1) })
            Assert.That(await IsActiveAsync(token), Is.False, name);
        await OAuthAssert.ErrorAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh1)),
            HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Test, Description("RFC 7009 §2.1: the hint is only a hint; a refresh token sent with no or the wrong hint is still revoked")]
    public async Task Revoke_RefreshTokenWithWrongHint_RevokesIt()
    {
        var (access, refresh) = await LoginAsync();
        await AssertOkAsync(await _app.PostFormAsync(RevokePath, ("token", refresh), ("token_type_hint", "access_token")));
        Assert.That(await IsActiveAsync(refresh), Is.False);
        Assert.That(await IsActiveAsync(access), Is.False);
    }

    [Test, Description("RFC 7009 §2.1: an access token sent with the refresh_token hint is still revoked")]
    public async Task Revoke_AccessTokenWithRefreshHint_RevokesIt()
    {
        var (access, refresh) = await LoginAsync();
        await AssertOkAsync(await _app.PostFormAsync(RevokePath, ("token", access), ("token_type_hint", "refresh_token")));
        Assert.That(await IsActiveAsync(access), Is.False);
        Assert.That(await IsActiveAsync(refresh), Is.True);
    }

    [TestCase("unknown-token")]
    [TestCase("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")]
    [Description("RFC 7009 §2.2: an invalid or unknown token is answered with 200")]
    public async Task Revoke_UnknownToken_Returns200(string token)
    {
        await AssertOkAsync(await _app.PostFormAsync(RevokePath, ("token", token)));
        await AssertOkAsync(await RevokeJsonAsync(new JsonObject { ["token"] = token }));
    }

    [Test, Description("RFC 7009 §2.1: a token issued to client A cannot be revoked by client B")]
    public async Task Revoke_ByAnotherClient_LeavesTheTokensActive()
    {
        var (access, refresh) = await LoginAsync(_clientA);
        var asB = AuthlyApp.Basic(_clientB.Id, _clientB.Secret);
        await AssertOkAsync(await _app.PostFormAsync(RevokePath, asB, ("token", access)));
        await AssertOkAsync(await _app.PostFormAsync(RevokePath, asB, ("token", refresh), ("token_type_hint", "refresh_token")));
        Assert.That(await IsActiveAsync(access), Is.True);
        Assert.That(await IsActiveAsync(refresh), Is.True);
    }

    [Test, Description("API.md: a confidential client's token needs that client's authentication to be revoked")]
    public async Task Revoke_ConfidentialClientTokenWithoutClientAuthentication_LeavesItActive()
    {
        var (access, refresh) = await LoginAsync(_clientA);
        await AssertOkAsync(await _app.PostFormAsync(RevokePath, ("token", access)));
        await AssertOkAsync(await RevokeJsonAsync(new JsonObject { ["token"] = refresh }));
        Assert.That(await IsActiveAsync(access), Is.True);
        Assert.That(await IsActiveAsync(refresh), Is.True);
    }

    [Test, Description("RFC 7009 §2.1: the client the token was issued to may revoke it")]
    public async Task Revoke_ByTheOwningClient_RevokesIt()
    {
        var (access, refresh) = await LoginAsync(_clientA);
        var asA = AuthlyApp.Basic(_clientA.Id, _clientA.Secret);
        await AssertOkAsync(await _app.PostFormAsync(RevokePath, asA, ("token", refresh)));
        Assert.That(await IsActiveAsync(refresh), Is.False);
        Assert.That(await IsActiveAsync(access), Is.False);
    }

    [Test, Description("API.md: public clients may revoke their own tokens (client_id, no secret)")]
    public async Task Revoke_ByPublicClientWithClientId_RevokesItsToken()
    {
        var (id, _) = await _app.CreateClientAsync(new { client_name = "public", client_type = "public", scope = "read", grant_types = new[] { "password", "refresh_token" } });
        var login = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("client_id", id),
            ("username", _user.Username), ("password", _user.Password)));
        await AssertOkAsync(await _app.PostFormAsync(RevokePath, ("token", AuthlyApp.Str(login, "refresh_token")), ("client_id", id)));
        Assert.That(await IsActiveAsync(AuthlyApp.Str(login, "refresh_token")), Is.False);
        Assert.That(await IsActiveAsync(AuthlyApp.Str(login, "access_token")), Is.False);
    }

    [Test, Description("RFC 7009 §2.2.1, RFC 6749 §5.2: failed client authentication → 401 invalid_client, and nothing is revoked")]
    public async Task Revoke_WithWrongClientSecret_Returns401AndRevokesNothing()
    {
        var (access, _) = await LoginAsync(_clientA);
        var response = await _app.PostFormAsync(RevokePath, AuthlyApp.Basic(_clientA.Id, _clientA.Secret + "x"), ("token", access));
        await OAuthAssert.InvalidClientAsync(response);
        Assert.That(await IsActiveAsync(access), Is.True);
    }

    [Test, Description("RFC 7009 §2.1: token is REQUIRED → invalid_request")]
    public async Task Revoke_WithoutToken_ReturnsInvalidRequest()
    {
        await OAuthAssert.ErrorAsync(await _app.PostFormAsync(RevokePath, ("token_type_hint", "access_token")), HttpStatusCode.BadRequest, "invalid_request");
        await OAuthAssert.ErrorAsync(await _app.PostFormAsync(RevokePath, ("token", "")), HttpStatusCode.BadRequest, "invalid_request");
        await OAuthAssert.ErrorAsync(await RevokeJsonAsync(new JsonObject { ["token_type_hint"] = "refresh_token" }), HttpStatusCode.BadRequest, "invalid_request");
    }

    [TestCase("text/plain", "token=abc")]
    [TestCase("application/xml", "<token>abc</token>")]
    [TestCase("application/json", "{\"token\":")]
    [TestCase("application/json", "{\"token\":42}")]
    [Description("RFC 7009 §2.1: a form (or API.md's JSON); anything else → invalid_request")]
    public async Task Revoke_WithUnreadableBody_ReturnsInvalidRequest(string contentType, string body)
    {
        var response = await _app.CreateClient().PostAsync(RevokePath, new StringContent(body, Encoding.UTF8, contentType));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 6749 §3.2 applies to revocation's form too: a repeated token → invalid_request, and nothing revoked")]
    public async Task Revoke_WithRepeatedToken_ReturnsInvalidRequestAndRevokesNothing()
    {
        var (access, _) = await LoginAsync();
        var response = await _app.PostFormAsync(RevokePath, ("token", access), ("token", "other"));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        Assert.That(await IsActiveAsync(access), Is.True);
    }
}
