using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// A token used beyond what it was issued for (RFC 9700 §4.10 "Misuse of Stolen Access Tokens",
/// RFC 6750 §3.1 insufficient_scope, RFC 6749 §3.3 scope): a third-party client's narrow token
/// must not read the whole account or take it over, and no grant hands out more than its caller may hold.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class TokenMisuseAttacks : AppFixture
{
    /// <summary>A user with every claim filled in, so that a leak would show.</summary>
    private async Task<TestUsers.TestUser> UserWithClaimsAsync()
    {
        var user = await _app.RegisterUserAsync();
        await _app.UpdateUserAsync(user.Id, new
        {
            given_name = "Ada", family_name = "Lovelace", phone_number = "+44 20 7946 0000", phone_number_verified = true,
            address = new { street_address = "1 Analytical Way", locality = "London", country = "UK" },
        });
        return user;
    }

    /// <summary>A third-party client (registered for <paramref name="clientScope"/>) and the user's token through it.</summary>
    private async Task<string> ThirdPartyTokenAsync(TestUsers.TestUser user, string clientScope = "read", string? scope = null)
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(clientScope, ["password", "refresh_token"]);
        var response = await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(id, secret!),
            ("grant_type", "password"), ("username", user.Username), ("password", user.Password), ("scope", scope ?? clientScope));
        return AuthlyApp.Str(await OAuthAssert.TokenAsync(response), "access_token");
    }

    private async Task<bool> IsActiveAsync(string token) =>
        (await AuthlyApp.JsonAsync(await _app.PostFormAsync("/api/v1/oauth/introspect", ("token", token))))["active"]!.GetValue<bool>();

    private static void AssertInsufficientScope(HttpResponseMessage response, string body)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), body);
        var challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.That(challenge, Does.StartWith("Bearer").And.Contain("error=\"insufficient_scope\""), "RFC 6750 §3.1 challenge");
    }

    [Test, Description("RFC 9700 §4.10 / RFC 6750 §3.1: a third-party read token on /users/me sees no email, phone, address or account flags")]
    public async Task ThirdPartyReadToken_ReadingUsersMe_GetsNoContactDataOrAdminFlag()
    {
        var user = await UserWithClaimsAsync();
        var http = _app.BearerClient(await ThirdPartyTokenAsync(user));
        var response = await http.GetAsync("/api/v1/users/me");
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        var me = JsonNode.Parse(text)!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(me, "id"), Is.EqualTo(user.Id.ToString()));
            foreach (var field in new[] { "email", "phone_number", "phone_number_verified", "address", "is_admin", "is_active", "last_login",
                         "requires_password_change", "given_name", "family_name" })
                Assert.That(me.ContainsKey(field), Is.False, $"{field} leaked: {text}");
            Assert.That(text, Does.Not.Contain(user.Email).And.Not.Contain("7946").And.Not.Contain("London"));
        });
    }

    [Test, Description("OIDC Core §5.4 as on userinfo: each scope releases its own claims on /users/me, nothing more")]
    public async Task ThirdPartyEmailToken_ReadingUsersMe_GetsTheEmailOnly()
    {
        var user = await UserWithClaimsAsync();
        var http = _app.BearerClient(await ThirdPartyTokenAsync(user, "read email"));
        var me = await AuthlyApp.JsonAsync(await http.GetAsync("/api/v1/users/me"));
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(me, "email"), Is.EqualTo(user.Email));
            Assert.That(me.ContainsKey("phone_number"), Is.False);
            Assert.That(me.ContainsKey("address"), Is.False);
            Assert.That(me.ContainsKey("is_admin"), Is.False);
        });
    }

    [Test, Description("RFC 6750 §3.1: the first-party CLI's token still reads the whole account (whoami)")]
    public async Task FirstPartyToken_ReadingUsersMe_GetsTheWholeAccount()
    {
        var user = await UserWithClaimsAsync();
        var http = _app.BearerClient(AuthlyApp.Str(await _app.PasswordTokenAsync(user.Username, user.Password), "access_token"));
        var me = await AuthlyApp.JsonAsync(await http.GetAsync("/api/v1/users/me"));
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(me, "email"), Is.EqualTo(user.Email));
            Assert.That(AuthlyApp.Str(me, "phone_number"), Is.EqualTo("+44 20 7946 0000"));
            Assert.That(me["is_admin"]!.GetValue<bool>(), Is.False);
            Assert.That(me.ContainsKey("address"), Is.True);
        });
    }

    [Test, Description("RFC 9700 §4.10 / RFC 6750 §3.1: a third-party read token cannot end all of the user's sessions and token families")]
    public async Task ThirdPartyReadToken_CallingAuthLogout_Gets403AndNothingEnds()
    {
        var user = await _app.RegisterUserAsync();
        var cli = await _app.PasswordTokenAsync(user.Username, user.Password);
        var token = await ThirdPartyTokenAsync(user);
        var response = await _app.BearerClient(token).PostAsync("/api/v1/auth/logout", null);
        AssertInsufficientScope(response, await response.Content.ReadAsStringAsync());
        Assert.That(await IsActiveAsync(AuthlyApp.Str(cli, "refresh_token")), Is.True, "the user's other family");
        Assert.That(await IsActiveAsync(token), Is.True, "the caller's own token");
    }

    [Test, Description("RFC 9700 §4.10 / RFC 6750 §3.1: a third-party read token cannot change the password, even knowing it")]
    public async Task ThirdPartyReadToken_CallingChangePassword_Gets403AndPasswordUnchanged()
    {
        var user = await _app.RegisterUserAsync();
        var token = await ThirdPartyTokenAsync(user);
        var response = await _app.BearerClient(token).PostAsJsonAsync("/api/v1/auth/change-password",
            new { current_password = user.Password, new_password = "Taken-Over-Pass-1" });
        AssertInsufficientScope(response, await response.Content.ReadAsStringAsync());
        await _app.PasswordTokenAsync(user.Username, user.Password);
        var refused = await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", user.Username), ("password", "Taken-Over-Pass-1"));
        await OAuthAssert.ErrorAsync(refused, HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Test, Description("RFC 6750 §3.1: password-status is an account field too")]
    public async Task ThirdPartyReadToken_ReadingPasswordStatus_Gets403()
    {
        var user = await _app.RegisterUserAsync();
        var response = await _app.BearerClient(await ThirdPartyTokenAsync(user)).GetAsync("/api/v1/auth/password-status");
        AssertInsufficientScope(response, await response.Content.ReadAsStringAsync());
    }

    [Test, Description("RFC 6749 §3.3: the first-party CLI's token may end all sessions and change the password")]
    public async Task FirstPartyToken_ChangesPasswordAndLogsOut()
    {
        var user = await _app.RegisterUserAsync();
        var http = _app.BearerClient(AuthlyApp.Str(await _app.PasswordTokenAsync(user.Username, user.Password), "access_token"));
        var changed = await http.PostAsJsonAsync("/api/v1/auth/change-password", new { current_password = user.Password, new_password = "Brand-New-Pass-7" });
        Assert.That(changed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await changed.Content.ReadAsStringAsync());
        var loggedOut = await http.PostAsync("/api/v1/auth/logout", null);
        Assert.That(loggedOut.StatusCode, Is.EqualTo(HttpStatusCode.OK), await loggedOut.Content.ReadAsStringAsync());
    }

    [Test, Description("RFC 6749 §3.3: a client an admin registered with account:write may change the user's password (the dedicated scope)")]
    public async Task ClientRegisteredForAccountWrite_ChangesPassword()
    {
        var user = await _app.RegisterUserAsync();
        var http = _app.BearerClient(await ThirdPartyTokenAsync(user, "read account:write"));
        var changed = await http.PostAsJsonAsync("/api/v1/auth/change-password", new { current_password = user.Password, new_password = "Brand-New-Pass-8" });
        Assert.That(changed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await changed.Content.ReadAsStringAsync());
    }

    [Test, Description("RFC 9700 §4.15 / RFC 6749 §3.3: the client-less password grant (the CLI) yields only first-party scopes")]
    public async Task ClientlessPasswordGrant_AskingForEverything_GetsOnlyFirstPartyScopes()
    {
        var user = await _app.RegisterUserAsync();
        var body = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", user.Username),
            ("password", user.Password), ("scope", "read write openid email vault:read vault:write database:write cache:write offline_access account:write")));
        var granted = AuthlyApp.Str(body, "scope").Split(' ');
        Assert.That(granted, Is.EquivalentTo(new[] { "vault:read", "vault:write", "account:write" }), AuthlyApp.Str(body, "scope"));

        var defaults = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", user.Username),
            ("password", user.Password)));
        Assert.That(AuthlyApp.Str(defaults, "scope").Split(' ', StringSplitOptions.RemoveEmptyEntries),
            Is.All.StartsWith("account:").Or.StartsWith("admin:"), AuthlyApp.Str(defaults, "scope"));

        var onlyOthers = await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", user.Username),
            ("password", user.Password), ("scope", "read database:write"));
        await OAuthAssert.ErrorAsync(onlyOthers, HttpStatusCode.BadRequest, "invalid_scope");
    }

    [Test, Description("RFC 9700 §4.15: the admin CLI still gets its admin scopes for an admin")]
    public async Task ClientlessPasswordGrant_ForAdmin_GetsTheAdminScopes()
    {
        var body = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", AuthlyApp.AdminUsername),
            ("password", AuthlyApp.AdminPassword), ("scope", "admin:users:read admin:system:read read")));
        Assert.That(AuthlyApp.Str(body, "scope").Split(' '), Is.EquivalentTo(new[] { "admin:users:read", "admin:system:read" }));
    }

    [Test, Description("RFC 7662 §2.1, §4: an admin's own tooling may introspect without a client; a non-admin asking for it gets nothing")]
    public async Task ClientlessPasswordGrant_Introspect_OnlyForAnAdmin()
    {
        var admin = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", AuthlyApp.AdminUsername),
            ("password", AuthlyApp.AdminPassword), ("scope", "introspect read")));
        Assert.That(AuthlyApp.Str(admin, "scope"), Is.EqualTo("introspect"));

        var user = await _app.RegisterUserAsync();
        var refused = await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", user.Username),
            ("password", user.Password), ("scope", "introspect"));
        await OAuthAssert.ErrorAsync(refused, HttpStatusCode.BadRequest, "invalid_scope");
    }

    [Test, Description("RFC 6749 §6, RFC 9700 §4.14: a client-less refresh token issued with wide scopes (before the first-party rule) refreshes to first-party scopes only")]
    public async Task ClientlessRefreshToken_FromBeforeTheRule_DoesNotKeepItsWideScopes()
    {
        var user = await _app.RegisterUserAsync();
        var first = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", user.Username),
            ("password", user.Password), ("scope", "account:read")));
        // The row as the old client-less grant wrote it: every active non-privileged scope.
        await _app.SqlScalarAsync<int>("UPDATE refresh_tokens SET scope = 'account:read read write database:write cache:write offline_access' WHERE user_id = @Id",
            new { user.Id });
        var refreshed = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"),
            ("refresh_token", AuthlyApp.Str(first, "refresh_token"))));
        Assert.That(AuthlyApp.Str(refreshed, "scope").Split(' '), Is.EquivalentTo(new[] { "account:read" }), AuthlyApp.Str(refreshed, "scope"));
    }

    [Test, Description("RFC 9700 §4.10: a third-party app holding vault scopes neither lists the user's Authly sessions nor ends them")]
    public async Task ThirdPartyVaultToken_ListingAndEndingAuthlySessions_SeesNoneAndEndsNone()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        await browser.SignInDirectlyAsync(user);
        var sid = AuthlyApp.Str(await browser.SessionCheckAsync(), "sid");

        var http = _app.BearerClient(await ThirdPartyTokenAsync(user, "vault:read vault:write"));
        var listed = await http.GetAsync("/api/v1/vault/sessions");
        var body = await listed.Content.ReadAsStringAsync();
        Assert.That(listed.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        Assert.That(JsonNode.Parse(body)!["authly"]!.AsArray(), Is.Empty, body);
        Assert.That(body, Does.Not.Contain(sid));

        var ended = await http.DeleteAsync("/api/v1/vault/sessions/" + sid);
        Assert.That(ended.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), await ended.Content.ReadAsStringAsync());
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True, "the third party ended the user's session");
    }

    [Test, Description("RFC 6749 §3.3: a non-admin gets no admin scope, neither without a client nor through a client registered for it")]
    public async Task NonAdmin_AskingForAdminScopes_GetsNone()
    {
        var user = await _app.RegisterUserAsync();
        var clientless = await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", user.Username),
            ("password", user.Password), ("scope", "admin:users:write admin:clients:write"));
        await OAuthAssert.ErrorAsync(clientless, HttpStatusCode.BadRequest, "invalid_scope");

        var (id, secret) = await _app.CreateConfidentialClientAsync("read admin:users:write", ["password"]);
        var through = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(id, secret!), ("grant_type", "password"),
            ("username", user.Username), ("password", user.Password), ("scope", "read admin:users:write")));
        Assert.That(AuthlyApp.Str(through, "scope"), Is.EqualTo("read"));
    }

    [Test, Description("RFC 6749 §3.3: a third-party client not registered for account:write cannot obtain it by asking")]
    public async Task ThirdPartyClient_AskingForAccountWrite_DoesNotGetIt()
    {
        var user = await _app.RegisterUserAsync();
        var (id, secret) = await _app.CreateConfidentialClientAsync("read", ["password"]);
        var body = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(id, secret!), ("grant_type", "password"),
            ("username", user.Username), ("password", user.Password), ("scope", "read account:write account:read")));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"));
    }
}
