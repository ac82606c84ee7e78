using System.Net;
using Authly.Tests.Infrastructure;
using static Authly.Tests.Infrastructure.Issue18Clients;

namespace Authly.Tests.Rfc7592;

/// <summary>RFC 7592: a registered client reads, replaces and deletes its own registration with its registration access token.</summary>
[TestFixture, Category("RFC7592")]
public sealed class RegistrationManagementTests : AppFixture
{
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string clientId, string? token, object? body = null) =>
        await _app.CreateClient().SendAsync(Management(method, clientId, token, body));

    [Test, Description("RFC 7592 §2.1: GET answers the current registration, without the secret (stored hashed) or the token")]
    public async Task Read_WithRegistrationAccessToken_ReturnsTheRegistration()
    {
        var reg = await RegisterAsync(_app);
        var response = await SendAsync(HttpMethod.Get, AuthlyApp.Str(reg, "client_id"), AuthlyApp.Str(reg, "registration_access_token"));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            OAuthAssert.NoStore(response);
            Assert.That(AuthlyApp.Str(body, "client_id"), Is.EqualTo(AuthlyApp.Str(reg, "client_id")));
            Assert.That(AuthlyApp.Str(body, "registration_client_uri"), Is.EqualTo(AuthlyApp.Str(reg, "registration_client_uri")));
            Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"));
            Assert.That(body.ContainsKey("client_secret"), Is.False);
            Assert.That(body.ContainsKey("registration_access_token"), Is.False);
        });
    }

    [Test, Description("RFC 7592 §2.2: PUT replaces the metadata and (Authly's choice) answers with a new registration access token; the old one stops working")]
    public async Task Update_ReplacesMetadata_AndRotatesTheRegistrationAccessToken()
    {
        var reg = await RegisterAsync(_app);
        var (id, oldToken) = (AuthlyApp.Str(reg, "client_id"), AuthlyApp.Str(reg, "registration_access_token"));
        var response = await SendAsync(HttpMethod.Put, id, oldToken, new
        {
            client_id = id, client_name = "renamed", grant_types = new[] { "client_credentials" }, response_types = Array.Empty<string>(), scope = "read write",
        });
        var body = await AuthlyApp.JsonAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(AuthlyApp.Str(body, "client_name"), Is.EqualTo("renamed"));
            Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read write"));
        });
        var newToken = AuthlyApp.Str(body, "registration_access_token");
        Assert.That(newToken, Is.Not.EqualTo(oldToken));
        await OAuthAssert.ErrorAsync(await SendAsync(HttpMethod.Get, id, oldToken), HttpStatusCode.Unauthorized, "invalid_token");
        Assert.That((await SendAsync(HttpMethod.Get, id, newToken)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        // The secret from the registration still works: an update does not replace it.
        await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(id, AuthlyApp.Str(reg, "client_secret")), ("grant_type", "client_credentials")));
    }

    [Test, Description("RFC 7592 §2.2: the body's client_id must be the client's own; a bad update changes nothing")]
    public async Task Update_WithOtherClientIdOrBadMetadata_IsRefusedAndChangesNothing()
    {
        var reg = await RegisterAsync(_app);
        var (id, token) = (AuthlyApp.Str(reg, "client_id"), AuthlyApp.Str(reg, "registration_access_token"));
        var before = await _app.StateSnapshotAsync();
        await OAuthAssert.ErrorAsync(await SendAsync(HttpMethod.Put, id, token, new { client_id = "someone-else", client_name = "x" }),
            HttpStatusCode.BadRequest, "invalid_client_metadata");
        await OAuthAssert.ErrorAsync(await SendAsync(HttpMethod.Put, id, token, new { client_id = id, client_name = "x", redirect_uris = new[] { "https://a.example/*" } }),
            HttpStatusCode.BadRequest, "invalid_redirect_uri");
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
        Assert.That((await SendAsync(HttpMethod.Get, id, token)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "a refused update keeps the token");
    }

    [Test, Description("RFC 7592 §2.3: DELETE answers 204; the client gets no more tokens and the registration token is dead")]
    public async Task Delete_Returns204_AndTheClientStopsWorking()
    {
        var reg = await RegisterAsync(_app);
        var (id, token) = (AuthlyApp.Str(reg, "client_id"), AuthlyApp.Str(reg, "registration_access_token"));
        Assert.That((await SendAsync(HttpMethod.Delete, id, token)).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await OAuthAssert.InvalidClientAsync(await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(id, AuthlyApp.Str(reg, "client_secret")), ("grant_type", "client_credentials")));
        await OAuthAssert.ErrorAsync(await SendAsync(HttpMethod.Get, id, token), HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Test, Description("RFC 7592 §2.1: no token, a wrong token, an unknown client and an admin-made client all get 401 invalid_token, never 404")]
    public async Task Read_WithoutValidToken_Returns401_NeverRevealingWhetherTheClientExists()
    {
        var reg = await RegisterAsync(_app);
        var id = AuthlyApp.Str(reg, "client_id");
        var (adminMade, _) = await _app.CreateConfidentialClientAsync();
        await OAuthAssert.ErrorAsync(await SendAsync(HttpMethod.Get, id, null), HttpStatusCode.Unauthorized, "invalid_token");
        await OAuthAssert.ErrorAsync(await SendAsync(HttpMethod.Get, id, "wrong"), HttpStatusCode.Unauthorized, "invalid_token");
        await OAuthAssert.ErrorAsync(await SendAsync(HttpMethod.Get, "authly_no_such_client", "wrong"), HttpStatusCode.Unauthorized, "invalid_token");
        await OAuthAssert.ErrorAsync(await SendAsync(HttpMethod.Get, adminMade, AuthlyApp.Str(reg, "registration_access_token")), HttpStatusCode.Unauthorized, "invalid_token");
    }
}
