using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.OidcCore;

/// <summary>OIDC Core §5.3 UserInfo with RFC 6750 bearer errors; PUT changes only what the token's scopes govern.</summary>
[TestFixture, Category("OIDC")]
public sealed class UserInfoTests : RelyingPartyFixture
{
    private async Task<string> AccessTokenAsync(TestUsers.TestUser user, string scope)
    {
        using var browser = new BrowserFlow(_app);
        return AuthlyApp.Str(await browser.TokensAsync(new BrowserFlow.Request(_clientId, Redirect, scope), user), "access_token");
    }

    private async Task<JsonObject> UserInfoAsync(string token, HttpMethod? method = null)
    {
        var response = await _app.BearerClient(token).SendAsync(new HttpRequestMessage(method ?? HttpMethod.Get, "/oidc/userinfo"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        return JsonNode.Parse(text)!.AsObject();
    }

    [Test, Description("RFC 6750 §3.1: no credentials → 401 with a bare Bearer challenge (no error code)")]
    public async Task UserInfo_WithoutToken_Returns401WithBearerChallenge()
    {
        var response = await _app.CreateClient().GetAsync("/oidc/userinfo");
        var challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(challenge, Does.StartWith("Bearer"));
            Assert.That(challenge, Does.Not.Contain("error="));
        });
    }

    [Test, Description("RFC 6750 §3.1: an invalid token → 401 invalid_token")]
    public async Task UserInfo_WithForgedToken_Returns401InvalidToken()
    {
        var response = await _app.BearerClient("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.").GetAsync("/oidc/userinfo");
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer").And.Contain("error=\"invalid_token\""));
        });
    }

    [Test, Description("OIDC Core §5.3.1; RFC 6750 §3.1: a token without openid → 403 insufficient_scope")]
    public async Task UserInfo_WithTokenWithoutOpenId_Returns403InsufficientScope()
    {
        var user = await _app.RegisterUserAsync();
        var token = await AccessTokenAsync(user, "profile email");
        var response = await _app.BearerClient(token).GetAsync("/oidc/userinfo");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), text);
            Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer").And.Contain("error=\"insufficient_scope\""));
            Assert.That(text, Does.Not.Contain(user.Email));
        });
    }

    [Test, Description("OIDC Core §5.3.2: openid alone releases only sub")]
    public async Task UserInfo_WithOpenIdOnly_ReturnsOnlySub()
    {
        var user = await _app.RegisterUserAsync();
        var info = await UserInfoAsync(await AccessTokenAsync(user, "openid"));
        Assert.That(info.Select(kv => kv.Key), Is.EqualTo(new[] { "sub" }));
        Assert.That(AuthlyApp.Str(info, "sub"), Is.EqualTo(user.Id.ToString()));
    }

    [Test, Description("OIDC Core §5.4: email releases email and email_verified only")]
    public async Task UserInfo_WithEmailScope_ReturnsEmailButNoProfileClaims()
    {
        var user = await _app.RegisterUserAsync();
        await _app.UpdateUserAsync(user.Id, new { given_name = "Grace" });
        var info = await UserInfoAsync(await AccessTokenAsync(user, "openid email"));
        Assert.Multiple(() =>
        {
            Assert.That(info.Select(kv => kv.Key), Is.EquivalentTo(new[] { "sub", "email", "email_verified" }));
            Assert.That(AuthlyApp.Str(info, "email"), Is.EqualTo(user.Email));
        });
    }

    [Test, Description("OIDC Core §5.4, §5.3.2: profile claims with profile; absent claims omitted, never null")]
    public async Task UserInfo_WithProfileScope_ReturnsSetClaimsAndOmitsAbsentOnes()
    {
        var user = await _app.RegisterUserAsync();
        await _app.UpdateUserAsync(user.Id, new { given_name = "Grace", family_name = "Hopper", locale = "en-US", phone_number = "+1 555 0100" });
        var info = await UserInfoAsync(await AccessTokenAsync(user, "openid profile"));
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(info, "given_name"), Is.EqualTo("Grace"));
            Assert.That(AuthlyApp.Str(info, "family_name"), Is.EqualTo("Hopper"));
            Assert.That(AuthlyApp.Str(info, "name"), Is.EqualTo("Grace Hopper"));
            Assert.That(AuthlyApp.Str(info, "locale"), Is.EqualTo("en-US"));
            Assert.That(AuthlyApp.Str(info, "preferred_username"), Is.EqualTo(user.Username));
            Assert.That(info.ContainsKey("updated_at"), Is.True);
            Assert.That(info.ContainsKey("middle_name"), Is.False);
            Assert.That(info.ContainsKey("picture"), Is.False);
            Assert.That(info.ContainsKey("email"), Is.False, "no email scope");
            Assert.That(info.ContainsKey("phone_number"), Is.False, "no phone scope");
            Assert.That(info.Where(kv => kv.Value is null).Select(kv => kv.Key), Is.Empty);
        });
    }

    [Test, Description("OIDC Core §5.4: phone and address scopes")]
    public async Task UserInfo_WithPhoneAndAddressScopes_ReturnsThoseClaims()
    {
        var user = await _app.RegisterUserAsync();
        await _app.UpdateUserAsync(user.Id, new { phone_number = "+1 555 0100", address = new { locality = "Arlington", country = "US" } });
        var info = await UserInfoAsync(await AccessTokenAsync(user, "openid phone address"));
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(info, "phone_number"), Is.EqualTo("+1 555 0100"));
            Assert.That(info["phone_number_verified"]!.GetValue<bool>(), Is.False);
            Assert.That(info["address"]!["locality"]!.GetValue<string>(), Is.EqualTo("Arlington"));
            Assert.That(info.ContainsKey("email"), Is.False);
        });
    }

    [Test, Description("OIDC Core §5.3.1: UserInfo accepts POST too")]
    public async Task UserInfo_WithPost_ReturnsSameClaims()
    {
        var user = await _app.RegisterUserAsync();
        var token = await AccessTokenAsync(user, "openid email");
        var get = await UserInfoAsync(token);
        var post = await UserInfoAsync(token, HttpMethod.Post);
        Assert.That(post.ToJsonString(), Is.EqualTo(get.ToJsonString()));
    }

    [Test, Description("PUT /oidc/userinfo changes the claims the token's profile scope allows")]
    public async Task UpdateUserInfo_WithProfileScope_ChangesProfileClaims()
    {
        var user = await _app.RegisterUserAsync();
        var token = await AccessTokenAsync(user, "openid profile");
        var response = await _app.BearerClient(token).PutAsJsonAsync("/oidc/userinfo", new { given_name = "Katherine", nickname = "kj" });
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        var info = await UserInfoAsync(token);
        Assert.That(AuthlyApp.Str(info, "given_name"), Is.EqualTo("Katherine"));
        Assert.That(AuthlyApp.Str(info, "nickname"), Is.EqualTo("kj"));
    }

    [Test, Description("PUT /oidc/userinfo refuses claims outside the token's scopes and changes nothing")]
    public async Task UpdateUserInfo_WithClaimOutsideScopes_Returns403AndChangesNothing()
    {
        var user = await _app.RegisterUserAsync();
        var token = await AccessTokenAsync(user, "openid profile");
        var response = await _app.BearerClient(token).PutAsJsonAsync("/oidc/userinfo", new { given_name = "Changed", phone_number = "+1 555 0199" });
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("insufficient_scope"));
        });
        var admin = _app.BearerClient(await _app.AdminTokenAsync("admin:users:read"));
        var stored = await AuthlyApp.JsonAsync(await admin.GetAsync($"/api/v1/users/{user.Id}"));
        Assert.That(stored["given_name"], Is.Null, "nothing changed");
        Assert.That(stored["phone_number"], Is.Null);
    }

    [Test, Description("PUT /oidc/userinfo never changes account fields (admin flag, email, username, password)")]
    public async Task UpdateUserInfo_WithAccountFields_DoesNotChangeThem()
    {
        var user = await _app.RegisterUserAsync();
        var token = await AccessTokenAsync(user, "openid profile email");
        var response = await _app.BearerClient(token).PutAsJsonAsync("/oidc/userinfo",
            new { given_name = "Mallory", is_admin = true, is_verified = false, username = "root", email = "x@evil.example", password = "Pwned-Password-1" });
        Assert.That((int)response.StatusCode, Is.EqualTo(200).Or.EqualTo(400).Or.EqualTo(403), await response.Content.ReadAsStringAsync());
        var admin = _app.BearerClient(await _app.AdminTokenAsync("admin:users:read"));
        var stored = await AuthlyApp.JsonAsync(await admin.GetAsync($"/api/v1/users/{user.Id}"));
        Assert.Multiple(() =>
        {
            Assert.That(stored["is_admin"]!.GetValue<bool>(), Is.False);
            Assert.That(stored["is_verified"]!.GetValue<bool>(), Is.True);
            Assert.That(AuthlyApp.Str(stored, "username"), Is.EqualTo(user.Username));
            Assert.That(AuthlyApp.Str(stored, "email"), Is.EqualTo(user.Email));
        });
        var login = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", user.Username), ("password", user.Password));
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the password is unchanged");
    }

    [Test, Description("PUT /oidc/userinfo needs a bearer token with openid")]
    public async Task UpdateUserInfo_WithoutToken_Returns401()
    {
        var response = await _app.CreateClient().PutAsJsonAsync("/oidc/userinfo", new { given_name = "x" });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer"));
    }

    [Test, Description("PUT /oidc/userinfo validates values (400, invalid_request) and changes nothing")]
    public async Task UpdateUserInfo_WithInvalidWebsite_Returns400()
    {
        var user = await _app.RegisterUserAsync();
        var token = await AccessTokenAsync(user, "openid profile");
        var response = await _app.BearerClient(token).PutAsJsonAsync("/oidc/userinfo", new { website = "javascript:alert(1)", given_name = "Z" });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(response), "error"), Is.EqualTo("invalid_request"));
        Assert.That((await UserInfoAsync(token)).ContainsKey("given_name"), Is.False);
    }

    [Test, Description("Issue 13: a body that is not JSON is RFC 6749 §5.2 invalid_request with no-store on the OAuth-shaped userinfo route, not the API's 415")]
    public async Task UpdateUserInfo_WithBodyNotJson_Returns400InvalidRequest()
    {
        var user = await _app.RegisterUserAsync();
        var token = await AccessTokenAsync(user, "openid profile");
        var response = await _app.BearerClient(token).PutAsync("/oidc/userinfo", new StringContent("given_name=Z", System.Text.Encoding.UTF8, "text/plain"));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(AuthlyApp.Str(body, "error"), Is.EqualTo("invalid_request"));
            Assert.That(AuthlyApp.Str(body, "error_description"), Is.EqualTo("The request body must be application/json"));
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
        });
    }
}
