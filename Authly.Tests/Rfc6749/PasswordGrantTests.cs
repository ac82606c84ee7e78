using System.Net;
using System.Net.Http.Json;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc6749;

/// <summary>
/// RFC 6749 §4.3 resource owner password credentials, as API.md keeps it for the CLI and scripts:
/// its texts, scope rule, requires_password_change, the switch and the lockout.
/// </summary>
[TestFixture, Category("RFC6749")]
public sealed class PasswordGrantTests : AppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => Lockout3;

    private const string BadCredentials = "Incorrect username or password";
    private const string Locked = "Too many failed attempts. Account temporarily locked.";
    private static readonly Dictionary<string, string?> Lockout3 = new() { ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "3" };

    private static Task<HttpResponseMessage> LoginAsync(AuthlyApp app, string username, string password, string? scope = null) =>
        app.PostFormAsync(TokenPath, [("grant_type", "password"), ("username", username), ("password", password),
            .. scope is null ? Array.Empty<(string, string)>() : [("scope", scope)]]);

    /// <summary>The same request through the app's script client (scopes other than the first party's need a client).</summary>
    private static async Task<HttpResponseMessage> LoginThroughClientAsync(AuthlyApp app, string username, string password, string? scope = null)
    {
        var (id, secret) = await app.ScriptClientAsync();
        return await app.PostFormAsync(TokenPath, AuthlyApp.Basic(id, secret), [("grant_type", "password"), ("username", username), ("password", password),
            .. scope is null ? Array.Empty<(string, string)>() : [("scope", scope)]]);
    }

    [Test, Description("RFC 6749 §4.3.3, API.md: access and refresh token, requires_password_change")]
    public async Task PasswordRequest_WithValidCredentials_ReturnsTokensAndPasswordChangeFlag()
    {
        var user = await _app.CreateUserAsync();
        var body = await OAuthAssert.TokenAsync(await LoginAsync(_app, user.Username, user.Password));
        Assert.Multiple(() =>
        {
            Assert.That(body.Select(p => p.Key), Is.EquivalentTo(new[]
                { "access_token", "token_type", "expires_in", "refresh_token", "scope", "requires_password_change" }));
            Assert.That(body["expires_in"]!.GetValue<int>(), Is.EqualTo(3600));
            Assert.That(AuthlyApp.Str(body, "refresh_token"), Is.Not.Empty);
            Assert.That(body["requires_password_change"]!.GetValue<bool>(), Is.False);
        });
    }

    [Test, Description("API.md: password grant returns requires_password_change")]
    public async Task PasswordRequest_ForUserWhoMustChangePassword_ReturnsRequiresPasswordChangeTrue()
    {
        var user = await _app.CreateUserAsync(requiresPasswordChange: true);
        var body = await OAuthAssert.TokenAsync(await LoginAsync(_app, user.Username, user.Password));
        Assert.That(body["requires_password_change"]!.GetValue<bool>(), Is.True);
    }

    [Test, Description("API.md: usernames are unique without regard to case")]
    public async Task PasswordRequest_WithDifferentlyCasedUsername_Succeeds()
    {
        var user = await _app.CreateUserAsync();
        await OAuthAssert.TokenAsync(await LoginAsync(_app, user.Username.ToUpperInvariant(), user.Password));
    }

    [Test, Description("RFC 6749 §5.2 invalid_grant; API.md text")]
    public async Task PasswordRequest_WithUnknownUser_ReturnsInvalidGrantWithGenericText()
    {
        var response = await LoginAsync(_app, "nobody_" + Guid.NewGuid().ToString("N"), "whatever-password");
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_grant", BadCredentials);
    }

    [Test, Description("RFC 6749 §5.2 invalid_grant; API.md: same text as an unknown user")]
    public async Task PasswordRequest_WithWrongPassword_ReturnsSameBodyAsUnknownUser()
    {
        var user = await _app.CreateUserAsync();
        var wrong = await LoginAsync(_app, user.Username, user.Password + "x");
        await OAuthAssert.ErrorAsync(wrong, HttpStatusCode.BadRequest, "invalid_grant", BadCredentials);
        var unknown = await LoginAsync(_app, "nobody_" + Guid.NewGuid().ToString("N"), user.Password);
        Assert.That(await wrong.Content.ReadAsStringAsync(), Is.EqualTo(await unknown.Content.ReadAsStringAsync()));
    }

    [Test, Description("API.md: inactive → invalid_grant \"Account is deactivated\"")]
    public async Task PasswordRequest_ForDeactivatedUser_ReturnsAccountIsDeactivated()
    {
        var user = await _app.CreateUserAsync(isActive: false);
        var response = await LoginAsync(_app, user.Username, user.Password);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_grant", "Account is deactivated");
    }

    [Test, Description("API.md: an account's state is told only to someone who knows its password")]
    public async Task PasswordRequest_ForDeactivatedUserWithWrongPassword_ReturnsGenericText()
    {
        var user = await _app.CreateUserAsync(isActive: false);
        var response = await LoginAsync(_app, user.Username, "not-the-password");
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_grant", BadCredentials);
    }

    [Test, Description("API.md: unverified → invalid_grant \"Account not verified\"")]
    public async Task PasswordRequest_ForUnverifiedUser_ReturnsAccountNotVerified()
    {
        var user = await _app.CreateUserAsync(isVerified: false);
        var response = await LoginAsync(_app, user.Username, user.Password);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_grant", "Account not verified");
    }

    [Test, Description("API.md: a user deactivated after registration (through an UPDATE) is refused")]
    public async Task PasswordRequest_AfterUserIsDeactivated_ReturnsAccountIsDeactivated()
    {
        var user = await _app.CreateUserAsync();
        await OAuthAssert.TokenAsync(await LoginAsync(_app, user.Username, user.Password));
        await _app.SqlScalarAsync<int>("UPDATE users SET is_active = false WHERE id = @Id RETURNING 1", new { user.Id });
        var response = await LoginAsync(_app, user.Username, user.Password);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_grant", "Account is deactivated");
    }

    [TestCase("username")]
    [TestCase("password")]
    [Description("RFC 6749 §4.3.2: username and password are REQUIRED")]
    public async Task PasswordRequest_WithoutRequiredParameter_ReturnsInvalidRequest(string missing)
    {
        var fields = new List<(string, string)> { ("grant_type", "password"), ("username", "someone"), ("password", "something") };
        fields.RemoveAll(f => f.Item1 == missing);
        var response = await _app.PostFormAsync(TokenPath, fields.ToArray());
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("API.md: granted = requested ∩ active ∩ what the user may hold; admin:* only for admins")]
    public async Task PasswordRequest_ByNonAdminAskingForAdminScope_DropsAdminScope()
    {
        var user = await _app.CreateUserAsync();
        var body = await OAuthAssert.TokenAsync(await LoginAsync(_app, user.Username, user.Password, "account:write admin:users:read account:read admin:clients:write"));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("account:read account:write"));
    }

    [Test, Description("API.md: admin:* scopes are granted to admins; without a client, only first-party scopes (issue 11)")]
    public async Task PasswordRequest_ByAdminAskingForAdminScope_GrantsIt()
    {
        var user = await _app.CreateUserAsync(isAdmin: true);
        var body = await OAuthAssert.TokenAsync(await LoginAsync(_app, user.Username, user.Password, "read admin:users:read"));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("admin:users:read"));
    }

    [Test, Description("RFC 6749 §3.3, §5.2: nothing of the requested scope can be granted → invalid_scope")]
    public async Task PasswordRequest_ByNonAdminAskingOnlyForAdminScope_ReturnsInvalidScope()
    {
        var user = await _app.CreateUserAsync();
        var response = await LoginAsync(_app, user.Username, user.Password, "admin:users:write");
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_scope");
    }

    [Test, Description("RFC 7662 §4: introspect reveals other parties' tokens, so a non-admin user never holds it")]
    public async Task PasswordRequest_ByNonAdminAskingForIntrospect_DropsIt()
    {
        var user = await _app.CreateUserAsync();
        var body = await OAuthAssert.TokenAsync(await LoginThroughClientAsync(_app, user.Username, user.Password, "read introspect"));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"));
        var only = await LoginThroughClientAsync(_app, user.Username, user.Password, "introspect");
        await OAuthAssert.ErrorAsync(only, HttpStatusCode.BadRequest, "invalid_scope");
    }

    [Test, Description("RFC 7662 §4: an admin may hold introspect")]
    public async Task PasswordRequest_ByAdminAskingForIntrospect_GrantsIt()
    {
        var user = await _app.CreateUserAsync(isAdmin: true);
        var body = await OAuthAssert.TokenAsync(await LoginThroughClientAsync(_app, user.Username, user.Password, "introspect"));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("introspect"));
    }

    [Test, Description("API.md: granted = requested ∩ active scopes")]
    public async Task PasswordRequest_AskingForInactiveAndUnknownScopes_GrantsOnlyActiveOnes()
    {
        var inactive = "inactive-" + Guid.NewGuid().ToString("N")[..8];
        var admin = _app.BearerClient(await _app.AdminTokenAsync("admin:scopes:write"));
        var created = await admin.PostAsJsonAsync("/admin/scopes", new { scope_name = inactive, description = "off", is_active = false });
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.OK), await created.Content.ReadAsStringAsync());

        var user = await _app.CreateUserAsync();
        var body = await OAuthAssert.TokenAsync(await LoginThroughClientAsync(_app, user.Username, user.Password, $"read {inactive} no-such-scope"));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"));
    }

    [TestCase(null)]
    [TestCase("")]
    [Description("API.md: empty request through a client → the default scopes (that the client has)")]
    public async Task PasswordRequest_WithoutScope_GrantsDefaultScopes(string? scope)
    {
        var defaults = await _app.SqlScalarAsync<string>(
            "SELECT string_agg(scope_name, ' ' ORDER BY scope_name COLLATE \"C\") FROM scopes WHERE is_default AND is_active AND scope_name NOT LIKE 'admin:%'");
        Assert.That(defaults, Is.Not.Empty);
        var user = await _app.CreateUserAsync();
        var body = await OAuthAssert.TokenAsync(await LoginThroughClientAsync(_app, user.Username, user.Password, scope));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo(defaults));
    }

    [TestCase(null)]
    [TestCase("")]
    [Description("Issue 11: without a client (the CLI), an empty request → the first-party account scopes, never the defaults")]
    public async Task PasswordRequest_WithoutClientOrScope_GrantsTheAccountScopes(string? scope)
    {
        var user = await _app.CreateUserAsync();
        var body = await OAuthAssert.TokenAsync(await LoginAsync(_app, user.Username, user.Password, scope));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("account:read account:write"));
    }

    [Test, Description("API.md: with a client, the grant is also limited to the client's scopes")]
    public async Task PasswordRequest_ThroughClient_LimitsScopeToTheClients()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(scope: "read", grants: ["password", "refresh_token"]);
        var user = await _app.CreateUserAsync();
        var response = await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(id, secret!),
            ("grant_type", "password"), ("username", user.Username), ("password", user.Password), ("scope", "read write"));
        var body = await OAuthAssert.TokenAsync(response);
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"));
    }

    [Test, Description("RFC 6749 §5.2 unauthorized_client: a client not registered for the password grant")]
    public async Task PasswordRequest_ThroughClientWithoutTheGrant_ReturnsUnauthorizedClient()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(grants: ["client_credentials"]);
        var user = await _app.CreateUserAsync();
        var response = await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(id, secret!),
            ("grant_type", "password"), ("username", user.Username), ("password", user.Password));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "unauthorized_client");
    }

    [Test, Description("API.md: AUTHLY_PASSWORD_GRANT_ENABLED=false → unsupported_grant_type, and discovery stops advertising it")]
    public async Task PasswordRequest_WhenGrantDisabled_ReturnsUnsupportedGrantType()
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["AUTHLY_PASSWORD_GRANT_ENABLED"] = "false" });
        var response = await LoginAsync(app, AuthlyApp.AdminUsername, AuthlyApp.AdminPassword);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "unsupported_grant_type");

        var metadata = await AuthlyApp.JsonAsync(await app.CreateClient().GetAsync("/.well-known/oauth-authorization-server"));
        Assert.That(metadata["grant_types_supported"]!.AsArray().Select(g => g!.GetValue<string>()), Does.Not.Contain("password"));
    }

    [Test, Description("API.md: AUTHLY_LOCKOUT_MAX_ATTEMPTS failures → 429 invalid_grant with Retry-After, even with the right password")]
    public async Task PasswordRequest_AfterMaxFailedAttempts_IsLockedEvenWithRightPassword()
    {
        var user = await _app.CreateUserAsync();
        await AssertLockoutAsync(_app, user);
    }

    [Test, Description("API.md: lockout needs no Redis on a single node")]
    public async Task PasswordRequest_AfterMaxFailedAttempts_WithoutRedis_IsLocked()
    {
        using var app = await AuthlyApp.StartAsync(Lockout3, withRedis: false);
        var user = await app.CreateUserAsync();
        await AssertLockoutAsync(app, user);
    }

    [Test, Description("API.md: the lockout is per username without regard to case")]
    public async Task PasswordRequest_FailuresWithDifferentlyCasedUsername_CountTowardTheSameLock()
    {
        var user = await _app.CreateUserAsync();
        await LoginAsync(_app, user.Username.ToUpperInvariant(), "wrong-1");
        await LoginAsync(_app, user.Username, "wrong-2");
        await LoginAsync(_app, char.ToUpperInvariant(user.Username[0]) + user.Username[1..], "wrong-3");
        var response = await LoginAsync(_app, user.Username, user.Password);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.TooManyRequests, "invalid_grant", Locked);
    }

    [Test, Description("API.md: unknown usernames lock the same way, so the lockout does not reveal which accounts exist")]
    public async Task PasswordRequest_ForUnknownUserAfterMaxFailures_IsLockedLikeARealOne()
    {
        var name = "nobody_" + Guid.NewGuid().ToString("N")[..12];
        for (var i = 0; i < 3; i++)
            await OAuthAssert.ErrorAsync(await LoginAsync(_app, name, "wrong"), HttpStatusCode.BadRequest, "invalid_grant", BadCredentials);
        await OAuthAssert.ErrorAsync(await LoginAsync(_app, name, "wrong"), HttpStatusCode.TooManyRequests, "invalid_grant", Locked);
    }

    [Test, Description("API.md: a successful login clears earlier failures")]
    public async Task PasswordRequest_SuccessBetweenFailures_ResetsTheCount()
    {
        var user = await _app.CreateUserAsync();
        await LoginAsync(_app, user.Username, "wrong-1");
        await LoginAsync(_app, user.Username, "wrong-2");
        await OAuthAssert.TokenAsync(await LoginAsync(_app, user.Username, user.Password));
        await LoginAsync(_app, user.Username, "wrong-3");
        await LoginAsync(_app, user.Username, "wrong-4");
        await OAuthAssert.TokenAsync(await LoginAsync(_app, user.Username, user.Password));
    }

    private static async Task AssertLockoutAsync(AuthlyApp app, AuthlyApp.TestUser user)
    {
        for (var i = 1; i <= 3; i++)
            await OAuthAssert.ErrorAsync(await LoginAsync(app, user.Username, $"wrong-{i}"), HttpStatusCode.BadRequest, "invalid_grant", BadCredentials);

        var locked = await LoginAsync(app, user.Username, user.Password);
        await OAuthAssert.ErrorAsync(locked, HttpStatusCode.TooManyRequests, "invalid_grant", Locked);
        var retryAfter = locked.Headers.RetryAfter?.Delta;
        Assert.That(retryAfter, Is.Not.Null, "Retry-After");
        Assert.That(retryAfter!.Value.TotalSeconds, Is.InRange(1, 300), "Retry-After is the lock time left (AUTHLY_LOCKOUT_DURATION_SECONDS=300)");

        // Still locked for the next attempt, whatever the password.
        await OAuthAssert.ErrorAsync(await LoginAsync(app, user.Username, "wrong-again"), HttpStatusCode.TooManyRequests, "invalid_grant", Locked);
        // Other accounts are unaffected.
        var other = await app.CreateUserAsync();
        await OAuthAssert.TokenAsync(await LoginAsync(app, other.Username, other.Password));
    }
}
