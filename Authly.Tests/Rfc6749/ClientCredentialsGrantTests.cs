using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc6749;

[TestFixture, Category("RFC6749")]
public sealed class ClientCredentialsGrantTests : AppFixture
{
    [Test, Description("RFC 6749 §4.4.2, §4.4.3")]
    public async Task TokenRequest_WithBasicCredentials_ReturnsBearerTokenWithoutRefreshToken()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync();
        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = AuthlyApp.Basic(id, secret!);
        var response = await http.PostAsync("/api/v1/oauth/token", AuthlyApp.Form(("grant_type", "client_credentials"), ("scope", "read")));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
            Assert.That(AuthlyApp.Str(body, "token_type"), Is.EqualTo("Bearer"));
            Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"));
            Assert.That(body["expires_in"]!.GetValue<int>(), Is.EqualTo(3600));
            Assert.That(body.ContainsKey("refresh_token"), Is.False);
        });
    }

    private async Task<HttpResponseMessage> RequestAsync(string id, string secret, params (string, string)[] extra)
    {
        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = AuthlyApp.Basic(id, secret);
        return await http.PostAsync("/api/v1/oauth/token", AuthlyApp.Form([("grant_type", "client_credentials"), .. extra]));
    }

    [Test, Description("RFC 6749 §4.4.2, §3.3: with no scope requested, the client's registered scopes")]
    public async Task TokenRequest_WithoutScope_GrantsTheClientsScopes()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(scope: "write read");
        var body = await OAuthAssert.TokenAsync(await RequestAsync(id, secret!));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read write"));
    }

    [Test, Description("RFC 6749 §3.3: an empty scope parameter is no scope")]
    public async Task TokenRequest_WithEmptyScope_GrantsTheClientsScopes()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(scope: "read write");
        var body = await OAuthAssert.TokenAsync(await RequestAsync(id, secret!, ("scope", "")));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read write"));
    }

    [Test, Description("RFC 6749 §3.3: scope is a space-delimited, order-free list")]
    public async Task TokenRequest_WithSubsetOfScopes_GrantsExactlyThat()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(scope: "read write introspect");
        var body = await OAuthAssert.TokenAsync(await RequestAsync(id, secret!, ("scope", "write  read")));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read write"));
    }

    [TestCase("admin:users:read")]
    [TestCase("read write")]
    [TestCase("read no-such-scope")]
    [Description("RFC 6749 §5.2: invalid_scope when the requested scope exceeds what the client may have")]
    public async Task TokenRequest_WithScopeNotAllowedForClient_ReturnsInvalidScope(string scope)
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(scope: "read");
        var response = await RequestAsync(id, secret!, ("scope", scope));
        var body = await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_scope");
        Assert.That(body.ToJsonString(), Does.Not.Contain(id));
    }

    [Test, Description("RFC 6749 §5.2: unauthorized_client when the client may not use this grant type")]
    public async Task TokenRequest_FromClientWithoutTheGrant_ReturnsUnauthorizedClient()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(grants: ["password", "refresh_token"]);
        var response = await RequestAsync(id, secret!, ("scope", "read"));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "unauthorized_client");
    }

    [Test, Description("RFC 6749 §4.4.3: a refresh token SHOULD NOT be included; RFC 9068 §2.2: sub is the client")]
    public async Task TokenResponse_ForClient_HasNoRefreshTokenAndNoUser()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(scope: "read write");
        var body = await OAuthAssert.TokenAsync(await RequestAsync(id, secret!));
        Assert.That(body.Select(p => p.Key), Is.EquivalentTo(new[] { "access_token", "token_type", "expires_in", "scope" }));

        var introspection = await AuthlyApp.JsonAsync(await _app.PostFormAsync("/api/v1/oauth/introspect", ("token", AuthlyApp.Str(body, "access_token"))));
        Assert.Multiple(() =>
        {
            Assert.That(introspection["active"]!.GetValue<bool>(), Is.True, introspection.ToJsonString());
            Assert.That(AuthlyApp.Str(introspection, "client_id"), Is.EqualTo(id));
            Assert.That(AuthlyApp.Str(introspection, "sub"), Is.EqualTo(id));
            Assert.That(introspection.ContainsKey("username"), Is.False);
        });
    }

    [Test, Description("RFC 9068 §2.2: every access token has its own jti")]
    public async Task TokenRequest_RepeatedTwice_IssuesDistinctAccessTokens()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync();
        var first = await OAuthAssert.TokenAsync(await RequestAsync(id, secret!));
        var second = await OAuthAssert.TokenAsync(await RequestAsync(id, secret!));
        Assert.That(AuthlyApp.Str(second, "access_token"), Is.Not.EqualTo(AuthlyApp.Str(first, "access_token")));
    }

    [Test, Description("RFC 6749 §3.3, §5.2; API.md: admin:* scopes belong to admin users, never to a client acting for itself")]
    public async Task TokenRequest_ForAdminScopeRegisteredOnClient_DoesNotGrantIt()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(scope: "read admin:users:read");
        var response = await RequestAsync(id, secret!, ("scope", "admin:users:read"));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_scope");

        var mixed = await OAuthAssert.TokenAsync(await RequestAsync(id, secret!, ("scope", "read admin:users:read")));
        Assert.That(AuthlyApp.Str(mixed, "scope"), Is.EqualTo("read"));
        var defaulted = await OAuthAssert.TokenAsync(await RequestAsync(id, secret!));
        Assert.That(AuthlyApp.Str(defaulted, "scope"), Is.EqualTo("read"));
    }
}
