using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc6749;

/// <summary>RFC 6749 §6 refresh with OAuth 2.1 §4.3.1 rotation and reuse detection (RFC 9700 §4.14.2).</summary>
[TestFixture, Category("RFC6749")]
public sealed class RefreshTokenGrantTests : AppFixture
{
    private AuthlyApp.TestUser _user = null!;
    private (string Id, string Secret) _clientA;
    private (string Id, string Secret) _clientB;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _user = await _app.CreateUserAsync();
        var a = await _app.CreateConfidentialClientAsync(scope: "read write", grants: ["password", "refresh_token"]);
        var b = await _app.CreateConfidentialClientAsync(scope: "read write", grants: ["password", "refresh_token"]);
        (_clientA, _clientB) = ((a.Id, a.Secret!), (b.Id, b.Secret!));
    }

    private static AuthenticationHeaderValue Basic((string Id, string Secret) c) => AuthlyApp.Basic(c.Id, c.Secret);

    /// <summary>A fresh grant for the fixture's user through client A: (access, refresh).</summary>
    private async Task<(string Access, string Refresh)> LoginAsync(string scope = "read write")
    {
        var body = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, Basic(_clientA),
            ("grant_type", "password"), ("username", _user.Username), ("password", _user.Password), ("scope", scope)));
        return (AuthlyApp.Str(body, "access_token"), AuthlyApp.Str(body, "refresh_token"));
    }

    private Task<HttpResponseMessage> RefreshAsync((string Id, string Secret) client, string refreshToken, string? scope = null) =>
        _app.PostFormAsync(TokenPath, Basic(client),
            [("grant_type", "refresh_token"), ("refresh_token", refreshToken), .. scope is null ? Array.Empty<(string, string)>() : [("scope", scope)]]);

    /// <summary>
    /// Moves a rotation back past the retry window (AUTHLY_REFRESH_RETRY_GRACE_SECONDS, measured on the database clock),
    /// so presenting the token again is reuse, not a retry.
    /// </summary>
    private Task AgeRotationAsync(string rotatedToken) =>
        _app.SqlScalarAsync<int>("UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 hour' WHERE token_hash = @Hash AND rotated_at IS NOT NULL RETURNING 1",
            new { Hash = SHA256.HashData(Encoding.UTF8.GetBytes(rotatedToken)) });

    private async Task<JsonObject> IntrospectAsync(string token) =>
        await AuthlyApp.JsonAsync(await _app.PostFormAsync("/api/v1/oauth/introspect", ("token", token)));

    private async Task<bool> IsActiveAsync(string token) => (await IntrospectAsync(token))["active"]!.GetValue<bool>();

    [Test, Description("RFC 6749 §6; OAuth 2.1 §4.3.1: every use returns a new refresh token")]
    public async Task Refresh_WithCurrentToken_ReturnsNewAccessAndRefreshToken()
    {
        var (access0, refresh0) = await LoginAsync();
        var body = await OAuthAssert.TokenAsync(await RefreshAsync(_clientA, refresh0));
        var refresh1 = AuthlyApp.Str(body, "refresh_token");
        Assert.Multiple(() =>
        {
            Assert.That(refresh1, Is.Not.EqualTo(refresh0));
            Assert.That(AuthlyApp.Str(body, "access_token"), Is.Not.EqualTo(access0));
            Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read write"));
            Assert.That(body["expires_in"]!.GetValue<int>(), Is.EqualTo(3600));
        });
        Assert.That(await IsActiveAsync(refresh1), Is.True);
        Assert.That(await IsActiveAsync(refresh0), Is.False, "a rotated refresh token is no longer active");

        var again = await OAuthAssert.TokenAsync(await RefreshAsync(_clientA, refresh1));
        Assert.That(AuthlyApp.Str(again, "refresh_token"), Is.Not.EqualTo(refresh1).And.Not.EqualTo(refresh0));
    }

    [Test, Description("OAuth 2.1 §4.3.1, RFC 9700 §4.14.2: reuse of a rotated token revokes the family and its access tokens")]
    public async Task Refresh_WithRotatedToken_ReturnsInvalidGrantAndRevokesTheFamily()
    {
        var (access0, refresh0) = await LoginAsync();
        var first = await OAuthAssert.TokenAsync(await RefreshAsync(_clientA, refresh0));
        var (access1, refresh1) = (AuthlyApp.Str(first, "access_token"), AuthlyApp.Str(first, "refresh_token"));
        var second = await OAuthAssert.TokenAsync(await RefreshAsync(_clientA, refresh1));
        var (access2, refresh2) = (AuthlyApp.Str(second, "access_token"), AuthlyApp.Str(second, "refresh_token"));
        Assert.That(await IsActiveAsync(access2), Is.True);

        // An attacker (or a confused client) replays the first rotated token.
        await AgeRotationAsync(refresh0);
        await OAuthAssert.ErrorAsync(await RefreshAsync(_clientA, refresh0), HttpStatusCode.BadRequest, "invalid_grant");

        foreach (var (name, token) in new[] { ("access0", access0), ("access1", access1), ("access2", access2), ("refresh2", refresh2) })
            Assert.That(await IsActiveAsync(token), Is.False, $"{name} must be inactive after reuse was detected");
        await OAuthAssert.ErrorAsync(await RefreshAsync(_clientA, refresh2), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Test, Description("RFC 9700 §4.14.2: reuse detection touches only the replayed family")]
    public async Task Refresh_WithRotatedToken_LeavesOtherFamiliesOfTheSameUserActive()
    {
        var (_, refreshA) = await LoginAsync();
        var (otherAccess, otherRefresh) = await LoginAsync();
        await OAuthAssert.TokenAsync(await RefreshAsync(_clientA, refreshA));
        await AgeRotationAsync(refreshA);
        await OAuthAssert.ErrorAsync(await RefreshAsync(_clientA, refreshA), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await IsActiveAsync(otherAccess), Is.True);
        Assert.That(await IsActiveAsync(otherRefresh), Is.True);
    }

    [Test, Description("RFC 6749 §6: the client may ask for a narrower scope; the refresh token keeps the original one")]
    public async Task Refresh_WithNarrowerScope_NarrowsTheAccessTokenOnly()
    {
        var (_, refresh0) = await LoginAsync("read write");
        var narrowed = await OAuthAssert.TokenAsync(await RefreshAsync(_clientA, refresh0, "read"));
        Assert.That(AuthlyApp.Str(narrowed, "scope"), Is.EqualTo("read"));
        var access = await IntrospectAsync(AuthlyApp.Str(narrowed, "access_token"));
        Assert.That(AuthlyApp.Str(access, "scope"), Is.EqualTo("read"));

        var refresh1 = AuthlyApp.Str(narrowed, "refresh_token");
        var refreshInfo = await IntrospectAsync(refresh1);
        Assert.That(AuthlyApp.Str(refreshInfo, "scope"), Is.EqualTo("read write"), "the new refresh token keeps the original scope");

        var widenedBack = await OAuthAssert.TokenAsync(await RefreshAsync(_clientA, refresh1));
        Assert.That(AuthlyApp.Str(widenedBack, "scope"), Is.EqualTo("read write"));
    }

    [Test, Description("RFC 6749 §6: the requested scope MUST NOT include any scope not originally granted")]
    public async Task Refresh_WithWiderScope_ReturnsInvalidScopeAndKeepsTheToken()
    {
        var (access, refresh) = await LoginAsync("read");
        var response = await RefreshAsync(_clientA, refresh, "read write");
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_scope");

        // An error response changes nothing (RFC 6749 §5.2): the same token still refreshes, and is not taken for reuse.
        Assert.That(await IsActiveAsync(refresh), Is.True);
        Assert.That(await IsActiveAsync(access), Is.True);
        var body = await OAuthAssert.TokenAsync(await RefreshAsync(_clientA, refresh));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"));
    }

    [Test, Description("RFC 9700 §4.14.2: a replayed rotated token is reuse whatever scope it asks for")]
    public async Task Refresh_WithRotatedTokenAndWiderScope_StillRevokesTheFamily()
    {
        var (_, refresh0) = await LoginAsync("read");
        var first = await OAuthAssert.TokenAsync(await RefreshAsync(_clientA, refresh0));
        var refresh1 = AuthlyApp.Str(first, "refresh_token");
        await AgeRotationAsync(refresh0);
        await OAuthAssert.ErrorAsync(await RefreshAsync(_clientA, refresh0, "read write"), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await IsActiveAsync(refresh1), Is.False);
        Assert.That(await IsActiveAsync(AuthlyApp.Str(first, "access_token")), Is.False);
    }

    [Test, Description("RFC 6749 §6, §10.4: a refresh token is bound to the client it was issued to")]
    public async Task Refresh_WithTokenOfAnotherClient_ReturnsInvalidGrantAndLeavesTheTokenUsable()
    {
        var (accessA, refreshA) = await LoginAsync();
        await OAuthAssert.ErrorAsync(await RefreshAsync(_clientB, refreshA), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await IsActiveAsync(accessA), Is.True);
        await OAuthAssert.TokenAsync(await RefreshAsync(_clientA, refreshA));
    }

    [Test, Description("RFC 6749 §6: a confidential client's refresh token needs that client's authentication")]
    public async Task Refresh_WithClientTokenButNoClientAuthentication_IsRefusedAndLeavesTheTokenUsable()
    {
        var (_, refresh) = await LoginAsync();
        var response = await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh));
        await OAuthAssert.InvalidClientAsync(response);
        var wrongSecret = await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(_clientA.Id, _clientA.Secret + "x"),
            ("grant_type", "refresh_token"), ("refresh_token", refresh));
        await OAuthAssert.InvalidClientAsync(wrongSecret);
        await OAuthAssert.TokenAsync(await RefreshAsync(_clientA, refresh));
    }

    [Test, Description("RFC 6749 §5.2 invalid_grant: expired")]
    public async Task Refresh_WithExpiredToken_ReturnsInvalidGrant()
    {
        var (_, refresh) = await LoginAsync();
        await _app.SqlScalarAsync<int>("UPDATE refresh_tokens SET expires_at = now() - interval '1 s' WHERE token_hash = @Hash RETURNING 1",
            new { Hash = SHA256.HashData(Encoding.UTF8.GetBytes(refresh)) });
        await OAuthAssert.ErrorAsync(await RefreshAsync(_clientA, refresh), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await IsActiveAsync(refresh), Is.False);
    }

    [TestCase("not-a-refresh-token")]
    [TestCase("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")]
    [Description("RFC 6749 §5.2 invalid_grant: unknown")]
    public async Task Refresh_WithUnknownToken_ReturnsInvalidGrant(string token)
    {
        await OAuthAssert.ErrorAsync(await RefreshAsync(_clientA, token), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Test, Description("RFC 6749 §5.2 invalid_grant: an access token is not a refresh token")]
    public async Task Refresh_WithAccessToken_ReturnsInvalidGrant()
    {
        var (access, _) = await LoginAsync();
        await OAuthAssert.ErrorAsync(await RefreshAsync(_clientA, access), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Test, Description("RFC 6749 §6: refresh_token is REQUIRED")]
    public async Task Refresh_WithoutRefreshToken_ReturnsInvalidRequest()
    {
        var response = await _app.PostFormAsync(TokenPath, Basic(_clientA), ("grant_type", "refresh_token"));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 6749 §6: the grant the token came from no longer holds once the user is deactivated")]
    public async Task Refresh_AfterUserIsDeactivated_ReturnsInvalidGrant()
    {
        var user = await _app.CreateUserAsync();
        var login = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath,
            ("grant_type", "password"), ("username", user.Username), ("password", user.Password)));
        await _app.SqlScalarAsync<int>("UPDATE users SET is_active = false WHERE id = @Id RETURNING 1", new { user.Id });
        var response = await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", AuthlyApp.Str(login, "refresh_token")));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Test, Description("OAuth 2.1 §4.3.1: concurrent uses of one refresh token rotate it once; within the retry window the others get that same answer")]
    public async Task Refresh_SameTokenConcurrently_RotatesOnce()
    {
        var (_, refresh) = await LoginAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => RefreshAsync(_clientA, refresh)));
        var answers = new List<string>();
        foreach (var r in responses) answers.Add(AuthlyApp.Str(await OAuthAssert.TokenAsync(r), "refresh_token"));
        Assert.That(answers.Distinct().Count(), Is.EqualTo(1), "one rotation, one new refresh token");
        Assert.That(await _app.SqlScalarAsync<long>("""
            SELECT count(*) FROM refresh_tokens WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = @Hash)
            """, new { Hash = SHA256.HashData(Encoding.UTF8.GetBytes(refresh)) }), Is.EqualTo(2), "the login's token and one successor");
    }

    [Test, Description("RFC 6749 §6; API.md: a public client refreshes with its client_id (auth method none), bound like any client")]
    public async Task Refresh_PublicClientToken_NeedsThatClientsId()
    {
        var (publicId, _) = await _app.CreateClientAsync(new { client_name = "public", client_type = "public", scope = "read", grant_types = new[] { "password", "refresh_token" } });
        var (otherId, _) = await _app.CreateClientAsync(new { client_name = "other public", client_type = "public", scope = "read", grant_types = new[] { "password", "refresh_token" } });
        var login = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("client_id", publicId),
            ("username", _user.Username), ("password", _user.Password)));
        var refresh = AuthlyApp.Str(login, "refresh_token");

        await OAuthAssert.ErrorAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", otherId)),
            HttpStatusCode.BadRequest, "invalid_grant");
        await OAuthAssert.InvalidClientAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh)));
        var body = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", publicId)));
        Assert.That(AuthlyApp.Str(await IntrospectAsync(AuthlyApp.Str(body, "access_token")), "client_id"), Is.EqualTo(publicId));
    }

    [Test, Description("API.md: the first-party CLI (no client) refreshes at the token endpoint without client authentication")]
    public async Task Refresh_FirstPartyTokenWithoutClient_Succeeds()
    {
        var login = await _app.PasswordTokenAsync(_user.Username, _user.Password);
        var response = await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", AuthlyApp.Str(login, "refresh_token")));
        var body = await OAuthAssert.TokenAsync(response);
        Assert.That(AuthlyApp.Str(body, "refresh_token"), Is.Not.EqualTo(AuthlyApp.Str(login, "refresh_token")));
    }

    [Test, Description("RFC 6749 §6: a first-party token is not a client's to use")]
    public async Task Refresh_FirstPartyTokenPresentedByClient_ReturnsInvalidGrant()
    {
        var login = await _app.PasswordTokenAsync(_user.Username, _user.Password);
        var refresh = AuthlyApp.Str(login, "refresh_token");
        await OAuthAssert.ErrorAsync(await RefreshAsync(_clientA, refresh), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await IsActiveAsync(refresh), Is.True);
    }

    [Test, Description("API.md: POST /api/v1/oauth/refresh (JSON) for the first-party CLI, same rotation rules")]
    public async Task JsonRefreshEndpoint_WithFirstPartyToken_RotatesLikeTheGrant()
    {
        var login = await _app.PasswordTokenAsync(_user.Username, _user.Password, "account:read account:write");
        var refresh0 = AuthlyApp.Str(login, "refresh_token");
        var http = _app.CreateClient();

        var response = await http.PostAsync("/api/v1/oauth/refresh", JsonContent(new JsonObject
            { ["grant_type"] = "refresh_token", ["refresh_token"] = refresh0, ["scope"] = "account:read" }));
        var body = await OAuthAssert.TokenAsync(response);
        var refresh1 = AuthlyApp.Str(body, "refresh_token");
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("account:read"));
            Assert.That(refresh1, Is.Not.EqualTo(refresh0));
        });

        // Reuse through the compatibility endpoint is detected the same way.
        await AgeRotationAsync(refresh0);
        var reuse = await http.PostAsync("/api/v1/oauth/refresh", JsonContent(new JsonObject
            { ["grant_type"] = "refresh_token", ["refresh_token"] = refresh0 }));
        await OAuthAssert.ErrorAsync(reuse, HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(await IsActiveAsync(refresh1), Is.False);
    }

    [Test, Description("API.md: the JSON endpoint is for first-party tokens; a client's token still needs that client")]
    public async Task JsonRefreshEndpoint_WithClientToken_IsRefusedAndLeavesTheTokenUsable()
    {
        var (_, refresh) = await LoginAsync();
        var response = await _app.CreateClient().PostAsync("/api/v1/oauth/refresh", JsonContent(new JsonObject
            { ["grant_type"] = "refresh_token", ["refresh_token"] = refresh, ["client_id"] = _clientA.Id, ["client_secret"] = _clientA.Secret }));
        Assert.That((int)response.StatusCode, Is.AnyOf(400, 401));
        Assert.That(await IsActiveAsync(refresh), Is.True);
        await OAuthAssert.TokenAsync(await RefreshAsync(_clientA, refresh));
    }

    [TestCase("""{"grant_type":"password","refresh_token":"x"}""")]
    [TestCase("""{"refresh_token":"x"}""")]
    [TestCase("""{"grant_type":"refresh_token","refresh_token":42}""")]
    [TestCase("""[1,2]""")]
    [TestCase("""{"grant_type":"refresh_token",""")]
    [Description("API.md: JSON {\"grant_type\":\"refresh_token\",\"refresh_token\",\"scope\"?}; anything else is invalid_request")]
    public async Task JsonRefreshEndpoint_WithMalformedBody_ReturnsInvalidRequest(string json)
    {
        var response = await _app.CreateClient().PostAsync("/api/v1/oauth/refresh", new StringContent(json, Encoding.UTF8, "application/json"));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    private static StringContent JsonContent(JsonObject o) => new(o.ToJsonString(), Encoding.UTF8, "application/json");
}
