using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Users;

/// <summary>API.md "Users and account": registration, the caller's account, password change, logout.</summary>
[TestFixture, Category("Users")]
public sealed class UsersApiTests : AppFixture
{
    private static string NewName() => "u" + Guid.NewGuid().ToString("N")[..12];

    private Task<HttpResponseMessage> RegisterAsync(object body) => _app.CreateClient().PostAsJsonAsync("/api/v1/users/", body);

    private static async Task AssertFieldErrorAsync(HttpResponseMessage response, string field, int status = 400)
    {
        var text = await response.Content.ReadAsStringAsync();
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(status), text);
            Assert.That(AuthlyApp.Str(body, "detail"), Is.Not.Empty);
            Assert.That(body["field"]?.GetValue<string>() ?? AuthlyApp.Str(body, "detail"), Does.Contain(field));
            Assert.That(text, Does.Not.Contain("Exception").And.Not.Contain("   at "));
        });
    }

    private async Task<JsonObject> PasswordTokensAsync(TestUsers.TestUser user, string? password = null)
    {
        var response = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", user.Username),
            ("password", password ?? user.Password));
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        return JsonNode.Parse(text)!.AsObject();
    }

    private async Task<bool> IsActiveAsync(string token)
    {
        var response = await _app.PostFormAsync("/api/v1/oauth/introspect", ("token", token));
        return (await AuthlyApp.JsonAsync(response))["active"]!.GetValue<bool>();
    }

    [Test, Description("API.md: POST /api/v1/users/ → 201 user, is_verified=false, never the password")]
    public async Task Register_WithValidInput_Returns201UnverifiedUser()
    {
        var name = NewName();
        var response = await RegisterAsync(new { username = name, email = name + "@example.com", password = "Secret-Pass-1" });
        var text = await response.Content.ReadAsStringAsync();
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), text);
            Assert.That(Guid.TryParse(AuthlyApp.Str(body, "id"), out _), Is.True);
            Assert.That(AuthlyApp.Str(body, "username"), Is.EqualTo(name));
            Assert.That(AuthlyApp.Str(body, "email"), Is.EqualTo(name + "@example.com"));
            Assert.That(body["is_verified"]!.GetValue<bool>(), Is.False);
            Assert.That(body["is_active"]!.GetValue<bool>(), Is.True);
            Assert.That(body["is_admin"]!.GetValue<bool>(), Is.False);
            Assert.That(body["requires_password_change"]!.GetValue<bool>(), Is.False);
            Assert.That(body.ContainsKey("created_at") && body.ContainsKey("updated_at"), Is.True);
            Assert.That(text, Does.Not.Contain("Secret-Pass-1").And.Not.Contain("password_hash").And.Not.Contain("argon2"));
        });
    }

    [Test, Description("Registration cannot make an admin or a verified account")]
    public async Task Register_WithPrivilegedFields_IgnoresThem()
    {
        var name = NewName();
        var response = await RegisterAsync(new { username = name, email = name + "@example.com", password = "Secret-Pass-1", is_admin = true, is_verified = true, is_active = true });
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(body["is_admin"]!.GetValue<bool>(), Is.False);
        Assert.That(body["is_verified"]!.GetValue<bool>(), Is.False);
    }

    [Test, Description("API.md: an unverified account cannot sign in (\"Account not verified\")")]
    public async Task PasswordGrant_ForUnverifiedRegisteredUser_ReturnsAccountNotVerified()
    {
        var name = NewName();
        await RegisterAsync(new { username = name, email = name + "@example.com", password = "Secret-Pass-1" });
        var response = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", name), ("password", "Secret-Pass-1"));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(AuthlyApp.Str(body, "error"), Is.EqualTo("invalid_grant"));
        Assert.That(AuthlyApp.Str(body, "error_description"), Is.EqualTo("Account not verified"));
    }

    [TestCase(false, TestName = "Register_WithDuplicateUsername_Returns400")]
    [TestCase(true, TestName = "Register_WithDuplicateUsernameInOtherCase_Returns400")]
    [Description("API.md: a taken username is a 400 naming the field")]
    public async Task Register_WithDuplicateUsername_Returns400(bool otherCase)
    {
        var name = NewName();
        Assert.That((await RegisterAsync(new { username = name, email = name + "@example.com", password = "Secret-Pass-1" })).StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var again = await RegisterAsync(new { username = otherCase ? name.ToUpperInvariant() : name, email = "other-" + name + "@example.com", password = "Secret-Pass-1" });
        await AssertFieldErrorAsync(again, "username");
    }

    [Test, Description("API.md: a taken email is a 400")]
    public async Task Register_WithDuplicateEmail_Returns400()
    {
        var name = NewName();
        await RegisterAsync(new { username = name, email = name + "@example.com", password = "Secret-Pass-1" });
        var again = await RegisterAsync(new { username = NewName(), email = name.ToUpperInvariant() + "@EXAMPLE.com", password = "Secret-Pass-1" });
        await AssertFieldErrorAsync(again, "email");
    }

    [TestCase("not-an-email")]
    [TestCase("a@")]
    [TestCase("@example.com")]
    [TestCase("a b@example.com")]
    [TestCase("Name <a@example.com>")]
    [TestCase("")]
    [Description("API.md: request validation failures are 400 with a body that names the field")]
    public async Task Register_WithBadEmail_Returns400NamingEmail(string email) =>
        await AssertFieldErrorAsync(await RegisterAsync(new { username = NewName(), email, password = "Secret-Pass-1" }), "email");

    [TestCase("short")]
    [TestCase("1234567")]
    [TestCase("")]
    [Description("API.md: a short password is a 400 naming the field")]
    public async Task Register_WithShortPassword_Returns400NamingPassword(string password)
    {
        var name = NewName();
        await AssertFieldErrorAsync(await RegisterAsync(new { username = name, email = name + "@example.com", password }), "password");
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("has space")]
    [TestCase("semi;colon")]
    [TestCase("<script>")]
    [Description("API.md: a missing or malformed username is a 400 naming the field")]
    public async Task Register_WithBadUsername_Returns400NamingUsername(string? username) =>
        await AssertFieldErrorAsync(await RegisterAsync(new { username, email = NewName() + "@example.com", password = "Secret-Pass-1" }), "username");

    [Test, Description("API.md: malformed JSON is a 400, never a 500")]
    public async Task Register_WithMalformedJson_Returns400()
    {
        var response = await _app.CreateClient().PostAsync("/api/v1/users/", new StringContent("{\"username\":", Encoding.UTF8, "application/json"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(response), "detail"), Is.Not.Empty);
    }

    [Test, Description("API.md: AUTHLY_REGISTRATION_ENABLED=false → registration refused, nothing created")]
    public async Task Register_WhenDisabled_Returns403AndCreatesNothing()
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["AUTHLY_REGISTRATION_ENABLED"] = "false" });
        var name = NewName();
        var response = await app.CreateClient().PostAsJsonAsync("/api/v1/users/", new { username = name, email = name + "@example.com", password = "Secret-Pass-1" });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(response), "detail"), Does.Contain("disabled"));
        await using var db = app.Database();
        await using var conn = await db.OpenConnectionAsync();
        await using var cmd = new Npgsql.NpgsqlCommand("SELECT count(*) FROM users WHERE username = @u", conn);
        cmd.Parameters.AddWithValue("u", name);
        Assert.That((long)(await cmd.ExecuteScalarAsync())!, Is.Zero);
    }

    [Test, Description("API.md: GET /api/v1/users/me is the caller's account")]
    public async Task Me_WithUserToken_ReturnsOwnAccountWithoutSecrets()
    {
        var user = await _app.RegisterUserAsync();
        var tokens = await PasswordTokensAsync(user);
        var response = await _app.BearerClient(AuthlyApp.Str(tokens, "access_token")).GetAsync("/api/v1/users/me");
        var text = await response.Content.ReadAsStringAsync();
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
            Assert.That(AuthlyApp.Str(body, "id"), Is.EqualTo(user.Id.ToString()));
            Assert.That(AuthlyApp.Str(body, "username"), Is.EqualTo(user.Username));
            Assert.That(body["is_verified"]!.GetValue<bool>(), Is.True);
            Assert.That(text, Does.Not.Contain("password_hash").And.Not.Contain(user.Password));
        });
    }

    [Test, Description("RFC 6750 §3.1: /users/me without a token → 401 with a Bearer challenge")]
    public async Task Me_WithoutToken_Returns401()
    {
        var response = await _app.CreateClient().GetAsync("/api/v1/users/me");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Bearer"));
    }

    [Test, Description("API.md: GET /api/v1/auth/password-status")]
    public async Task PasswordStatus_ReturnsFlagAndUsername()
    {
        var user = await _app.RegisterUserAsync();
        var tokens = await PasswordTokensAsync(user);
        var body = await AuthlyApp.JsonAsync(await _app.BearerClient(AuthlyApp.Str(tokens, "access_token")).GetAsync("/api/v1/auth/password-status"));
        Assert.That(body.ToJsonString(), Is.EqualTo($"{{\"requires_password_change\":false,\"username\":\"{user.Username}\"}}"));
    }

    [Test, Description("API.md: change-password needs the right current password; nothing changes otherwise")]
    public async Task ChangePassword_WithWrongCurrentPassword_Returns400AndKeepsPassword()
    {
        var user = await _app.RegisterUserAsync();
        var tokens = await PasswordTokensAsync(user);
        var response = await _app.BearerClient(AuthlyApp.Str(tokens, "access_token"))
            .PostAsJsonAsync("/api/v1/auth/change-password", new { current_password = "wrong-password", new_password = "New-Password-456" });
        await AssertFieldErrorAsync(response, "current_password");
        await PasswordTokensAsync(user);
        Assert.That(await IsActiveAsync(AuthlyApp.Str(tokens, "refresh_token")), Is.True);
    }

    [Test, Description("API.md: change-password validates the new password (400 naming new_password)")]
    public async Task ChangePassword_WithShortNewPassword_Returns400NamingNewPassword()
    {
        var user = await _app.RegisterUserAsync();
        var tokens = await PasswordTokensAsync(user);
        var response = await _app.BearerClient(AuthlyApp.Str(tokens, "access_token"))
            .PostAsJsonAsync("/api/v1/auth/change-password", new { current_password = user.Password, new_password = "short" });
        await AssertFieldErrorAsync(response, "new_password");
    }

    [Test, Description("API.md: success revokes the user's other refresh tokens; the caller carries on; the new password is the one that works")]
    public async Task ChangePassword_Success_RevokesOtherRefreshTokensAndKeepsCallers()
    {
        var user = await _app.RegisterUserAsync();
        var other = await PasswordTokensAsync(user);
        var caller = await PasswordTokensAsync(user);
        var http = _app.BearerClient(AuthlyApp.Str(caller, "access_token"));
        var response = await http.PostAsJsonAsync("/api/v1/auth/change-password", new { current_password = user.Password, new_password = "New-Password-456" });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());

        Assert.Multiple(async () =>
        {
            Assert.That(await IsActiveAsync(AuthlyApp.Str(other, "refresh_token")), Is.False, "another login's refresh token");
            Assert.That(await IsActiveAsync(AuthlyApp.Str(other, "access_token")), Is.False, "another login's access token");
            Assert.That(await IsActiveAsync(AuthlyApp.Str(caller, "refresh_token")), Is.True, "the caller's own refresh token");
            Assert.That((await http.GetAsync("/api/v1/auth/password-status")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the caller's own access token");
        });
        var old = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", user.Username), ("password", user.Password));
        Assert.That(old.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "the old password no longer works");
        await PasswordTokensAsync(user, "New-Password-456");
    }

    [Test, Description("A password change ends the user's browser sessions: whoever knew the old password is signed out")]
    public async Task ChangePassword_Success_EndsBrowserSessions()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        await browser.SignInDirectlyAsync(user);
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True);
        var tokens = await PasswordTokensAsync(user);
        var response = await _app.BearerClient(AuthlyApp.Str(tokens, "access_token"))
            .PostAsJsonAsync("/api/v1/auth/change-password", new { current_password = user.Password, new_password = "New-Password-456" });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.False);
    }

    [Test, Description("API.md: POST /api/v1/auth/logout revokes the caller's tokens and session")]
    public async Task AuthLogout_RevokesTokensAndEndsSessions()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        await browser.SignInDirectlyAsync(user);
        var tokens = await PasswordTokensAsync(user);
        var http = _app.BearerClient(AuthlyApp.Str(tokens, "access_token"));
        var response = await http.PostAsync("/api/v1/auth/logout", null);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        Assert.Multiple(async () =>
        {
            Assert.That((await http.GetAsync("/api/v1/users/me")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(await IsActiveAsync(AuthlyApp.Str(tokens, "access_token")), Is.False);
            Assert.That(await IsActiveAsync(AuthlyApp.Str(tokens, "refresh_token")), Is.False);
            Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.False);
        });
    }

    [Test, Description("API.md: auth/logout needs a bearer token")]
    public async Task AuthLogout_WithoutToken_Returns401()
    {
        var response = await _app.CreateClient().PostAsync("/api/v1/auth/logout", null);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test, Description("API.md: the user list is admin-only")]
    public async Task ListUsers_AsNonAdmin_IsRefused()
    {
        var user = await _app.RegisterUserAsync();
        var tokens = await PasswordTokensAsync(user);
        var response = await _app.BearerClient(AuthlyApp.Str(tokens, "access_token")).GetAsync("/api/v1/users/");
        Assert.That((int)response.StatusCode, Is.EqualTo(401).Or.EqualTo(403));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Not.Contain(user.Email));
    }

    [Test, Description("API.md: admins list and read users; the list never carries password hashes")]
    public async Task ListUsers_AsAdmin_ContainsRegisteredUser()
    {
        var user = await _app.RegisterUserAsync();
        var admin = _app.BearerClient(await _app.AdminTokenAsync("admin:users:read"));
        var response = await admin.GetAsync("/api/v1/users/?username=" + user.Username);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        Assert.That(text, Does.Contain(user.Id.ToString()));
        Assert.That(text, Does.Not.Contain("password_hash").And.Not.Contain("$argon2"));
    }

    [TestCase("username")]
    [TestCase("email")]
    [Description("API.md: bad input never reaches SQL unchecked and never produces a 500 (PostgreSQL text cannot hold NUL)")]
    public async Task ListUsers_WithNulInFilter_ReturnsNoUsersInsteadOf500(string filter)
    {
        var admin = _app.BearerClient(await _app.AdminTokenAsync("admin:users:read"));
        var response = await admin.GetAsync($"/api/v1/users/?{filter}=%00");
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        Assert.That(text, Is.EqualTo("[]"));
    }

    [Test, Description("API.md: deactivating a user (admin) refuses their login and revokes their tokens")]
    public async Task DeactivatedUser_CannotSignInAndTokensAreRevoked()
    {
        var user = await _app.RegisterUserAsync();
        var tokens = await PasswordTokensAsync(user);
        await _app.UpdateUserAsync(user.Id, new { is_active = false });
        Assert.That(await IsActiveAsync(AuthlyApp.Str(tokens, "refresh_token")), Is.False);
        var response = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", user.Username), ("password", user.Password));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(response), "error_description"), Is.EqualTo("Account is deactivated"));
    }
}
