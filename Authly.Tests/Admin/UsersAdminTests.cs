using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Admin;

/// <summary>API.md "Admin API" users, status and dashboard. The only admin in this fixture is the bootstrap admin.</summary>
[TestFixture, Category("Admin")]
public sealed class UsersAdminTests : AppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "3" };

    private HttpClient _admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _admin = await _app.AdminClientAsync("admin:users:read admin:users:write admin:system:read");
    }

    private async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(HttpMethod method, string path, object? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = JsonContent.Create(json);
        var response = await _admin.SendAsync(request);
        return (response.StatusCode, await AuthlyApp.JsonAsync(response));
    }

    private static string Unique(string prefix = "u") => prefix + Guid.NewGuid().ToString("N")[..10];

    private async Task<JsonObject> GetUserAsync(Guid id)
    {
        var (status, body) = await SendAsync(HttpMethod.Get, $"/admin/users/{id}");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        return body;
    }

    private async Task<int> AdminCountAsync() => await _app.SqlScalarAsync<int>("SELECT count(*)::int FROM users WHERE is_admin AND is_active");

    [Test]
    public async Task Create_WithGenerateTempPassword_Returns201WithThePasswordOnce_AndItLogsIn()
    {
        var username = Unique();
        var (status, body) = await SendAsync(HttpMethod.Post, "/admin/users",
            new { username, email = username + "@example.test", generate_temp_password = true, given_name = "Ada" });

        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), body.ToJsonString());
        var temporary = AuthlyApp.Str(body, "temporary_password");
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(body, "username"), Is.EqualTo(username));
            Assert.That(AuthlyApp.Str(body, "given_name"), Is.EqualTo("Ada"));
            Assert.That(body["requires_password_change"]!.GetValue<bool>(), Is.True);
            Assert.That(body.ToJsonString(), Does.Not.Contain("password_hash").And.Not.Contain("$argon2"));
        });
        var again = await GetUserAsync(Guid.Parse(AuthlyApp.Str(body, "id")));
        Assert.That(again.ContainsKey("temporary_password"), Is.False, "the password is shown once");
        await _app.SqlScalarAsync<int>("UPDATE users SET is_verified = true WHERE username = @U RETURNING 1", new { U = username });
        var token = await _app.PasswordTokenAsync(username, temporary);
        Assert.That(token["requires_password_change"]!.GetValue<bool>(), Is.True);
    }

    [Test]
    public async Task Create_WithPassword_Returns201WithoutTemporaryPassword()
    {
        var username = Unique();
        var (status, body) = await SendAsync(HttpMethod.Post, "/admin/users", new { username, email = username + "@example.test", password = "Long-Enough-1" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.Created), body.ToJsonString());
        Assert.That(body.ContainsKey("temporary_password"), Is.False);
        Assert.That(body.ContainsKey("password"), Is.False);
    }

    [TestCase("""{"username":"","email":"a@example.test","password":"Long-Enough-1"}""", "username")]
    [TestCase("""{"username":"has space","email":"a@example.test","password":"Long-Enough-1"}""", "username")]
    [TestCase("""{"username":"okname1","email":"not-an-email","password":"Long-Enough-1"}""", "email")]
    [TestCase("""{"username":"okname2","email":"b@example.test","password":"short"}""", "password")]
    [TestCase("""{"username":"okname3","email":"c@example.test"}""", "password")]
    [TestCase("""{"username":"okname4","email":"d@example.test","password":"Long-Enough-1","generate_temp_password":true}""", "password")]
    [TestCase("""{"username":"okname5","email":"e@example.test","password":"Long-Enough-1","is_admin":"yes"}""", "is_admin")]
    [TestCase("""{"username":"okname6","email":"f@example.test","password":"Long-Enough-1","website":"javascript:alert(1)"}""", "website")]
    public async Task Create_WithBadInput_Returns400NamingTheField_AndCreatesNothing(string json, string field)
    {
        var before = await _app.SqlScalarAsync<long>("SELECT count(*) FROM users");
        var response = await _admin.PostAsync("/admin/users", new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await AuthlyApp.JsonAsync(response);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "detail"), Is.Not.Empty);
        Assert.That(body["field"]?.GetValue<string>(), Is.EqualTo(field), body.ToJsonString());
        Assert.That(await _app.SqlScalarAsync<long>("SELECT count(*) FROM users"), Is.EqualTo(before));
    }

    [TestCase("not json", "application/json", 400)]
    [TestCase("[1,2]", "application/json", 400)]
    [TestCase("{\"username\":\"x\"}", "text/plain", 415)]
    [TestCase("{\"username\":\"a\",\"email\":\"a@example.test\",\"password\":\"Long-Enough-1\",\"address\":\"flat\"}", "application/json", 400)]
    public async Task Create_WithMalformedBody_IsRefusedWithDetail_AndCreatesNothing(string content, string mediaType, int status)
    {
        var before = await _app.SqlScalarAsync<long>("SELECT count(*) FROM users");
        var response = await _admin.PostAsync("/admin/users", new StringContent(content, Encoding.UTF8, mediaType));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That((int)response.StatusCode, Is.EqualTo(status), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "detail"), Is.Not.Empty);
        Assert.That(await _app.SqlScalarAsync<long>("SELECT count(*) FROM users"), Is.EqualTo(before));
    }

    [Test]
    public async Task Create_DuplicateUsername_Returns400()
    {
        var user = await _app.CreateUserAsync();
        var (status, body) = await SendAsync(HttpMethod.Post, "/admin/users", new { username = user.Username, email = Unique() + "@example.test", password = "Long-Enough-1" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "field"), Is.EqualTo("username"));
    }

    [Test]
    public async Task List_FiltersAndPages_WithTotalCountAndPageInfo()
    {
        var tag = Unique("p");
        for (var i = 0; i < 5; i++) await _app.CreateUserAsync(username: $"{tag}_{i}", isActive: i != 4);

        var (status, first) = await SendAsync(HttpMethod.Get, $"/admin/users?username={tag}&limit=2&skip=0");
        var (_, last) = await SendAsync(HttpMethod.Get, $"/admin/users?username={tag}&limit=2&skip=4");
        var (_, inactive) = await SendAsync(HttpMethod.Get, $"/admin/users?username={tag}&is_active=false");
        var (_, admins) = await SendAsync(HttpMethod.Get, $"/admin/users?username={tag}&is_admin=true");
        var (_, byEmail) = await SendAsync(HttpMethod.Get, $"/admin/users?email={tag}_3@");

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), first.ToJsonString());
        Assert.Multiple(() =>
        {
            Assert.That(first["users"]!.AsArray(), Has.Count.EqualTo(2));
            Assert.That(first["total_count"]!.GetValue<long>(), Is.EqualTo(5));
            Assert.That(first["page_info"]!["has_next"]!.GetValue<bool>(), Is.True);
            Assert.That(first["page_info"]!["has_previous"]!.GetValue<bool>(), Is.False);
            Assert.That(first["page_info"]!["total_pages"]!.GetValue<int>(), Is.EqualTo(3));
            Assert.That(last["users"]!.AsArray(), Has.Count.EqualTo(1));
            Assert.That(last["page_info"]!["has_next"]!.GetValue<bool>(), Is.False);
            Assert.That(last["page_info"]!["current_page"]!.GetValue<int>(), Is.EqualTo(3));
            Assert.That(inactive["users"]!.AsArray().Select(u => u!["username"]!.GetValue<string>()), Is.EqualTo(new[] { $"{tag}_4" }));
            Assert.That(admins["total_count"]!.GetValue<long>(), Is.EqualTo(0));
            Assert.That(byEmail["users"]!.AsArray().Select(u => u!["username"]!.GetValue<string>()), Is.EqualTo(new[] { $"{tag}_3" }));
            Assert.That(first.ToJsonString(), Does.Not.Contain("password_hash"));
        });
    }

    [Test]
    public async Task List_LikeWildcardsInFilter_AreMatchedLiterally()
    {
        var (_, body) = await SendAsync(HttpMethod.Get, "/admin/users?username=%25");
        Assert.That(body["total_count"]!.GetValue<long>(), Is.EqualTo(0), "'%' is not a wildcard");
    }

    [TestCase("limit=0", "limit")]
    [TestCase("limit=1001", "limit")]
    [TestCase("limit=abc", "limit")]
    [TestCase("skip=-1", "skip")]
    [TestCase("is_active=maybe", "is_active")]
    public async Task List_WithBadQuery_Returns400NamingTheParameter(string query, string name)
    {
        var response = await _admin.GetAsync("/admin/users?" + query);
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain(name));
    }

    [Test]
    public async Task GetUpdateDelete_UnknownOrMalformedId_Return404Or400()
    {
        var unknown = Guid.NewGuid();
        Assert.Multiple(async () =>
        {
            Assert.That((await SendAsync(HttpMethod.Get, $"/admin/users/{unknown}")).Status, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await SendAsync(HttpMethod.Put, $"/admin/users/{unknown}", new { given_name = "x" })).Status, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await SendAsync(HttpMethod.Delete, $"/admin/users/{unknown}")).Status, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await SendAsync(HttpMethod.Post, $"/admin/users/{unknown}/unlock")).Status, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await SendAsync(HttpMethod.Post, $"/admin/users/{unknown}/reset-password")).Status, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await SendAsync(HttpMethod.Get, $"/admin/users/{unknown}/sessions")).Status, Is.EqualTo(HttpStatusCode.NotFound));
            var (status, body) = await SendAsync(HttpMethod.Get, "/admin/users/not-a-uuid");
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(AuthlyApp.Str(body, "field"), Is.EqualTo("id"));
        });
    }

    [Test]
    public async Task Update_SetsFields_AndBadInputChangesNothing()
    {
        var user = await _app.CreateUserAsync();
        var (status, body) = await SendAsync(HttpMethod.Put, $"/admin/users/{user.Id}", new { given_name = "Grace", is_verified = false });
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "given_name"), Is.EqualTo("Grace"));

        var (bad, badBody) = await SendAsync(HttpMethod.Put, $"/admin/users/{user.Id}", new { given_name = "Changed", email = "nope" });
        Assert.That(bad, Is.EqualTo(HttpStatusCode.BadRequest), badBody.ToJsonString());
        Assert.That(AuthlyApp.Str(await GetUserAsync(user.Id), "given_name"), Is.EqualTo("Grace"), "a refused update changes nothing");
    }

    [Test]
    public async Task LastActiveAdmin_CannotBeDemotedDeactivatedOrDeleted()
    {
        Assume.That(await AdminCountAsync(), Is.EqualTo(1), "this fixture has only the bootstrap admin");
        var (_, list) = await SendAsync(HttpMethod.Get, $"/admin/users?username={AuthlyApp.AdminUsername}&is_admin=true");
        var adminId = Guid.Parse(AuthlyApp.Str(list["users"]!.AsArray()[0]!.AsObject(), "id"));

        var demote = await SendAsync(HttpMethod.Put, $"/admin/users/{adminId}", new { is_admin = false });
        var deactivate = await SendAsync(HttpMethod.Put, $"/admin/users/{adminId}", new { is_active = false });
        var delete = await SendAsync(HttpMethod.Delete, $"/admin/users/{adminId}");

        Assert.Multiple(async () =>
        {
            foreach (var (status, body) in new[] { demote, deactivate, delete })
            {
                Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
                Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain("last active admin"));
            }
            var after = await GetUserAsync(adminId);
            Assert.That(after["is_admin"]!.GetValue<bool>() && after["is_active"]!.GetValue<bool>(), Is.True);
            Assert.That(await AdminCountAsync(), Is.EqualTo(1));
        });
    }

    [Test, Description("The last-admin rule holds under concurrency: it is enforced in the UPDATE itself, under a row lock")]
    public async Task ConcurrentDemotions_OfTheLastTwoAdmins_LeaveExactlyOneAdmin()
    {
        var other = await _app.CreateUserAsync(isAdmin: true);
        var (_, list) = await SendAsync(HttpMethod.Get, $"/admin/users?username={AuthlyApp.AdminUsername}&is_admin=true");
        var adminId = Guid.Parse(AuthlyApp.Str(list["users"]!.AsArray()[0]!.AsObject(), "id"));
        try
        {
            for (var round = 0; round < 5; round++)
            {
                var results = await Task.WhenAll(
                    SendAsync(HttpMethod.Put, $"/admin/users/{other.Id}", new { is_admin = false }),
                    SendAsync(HttpMethod.Put, $"/admin/users/{adminId}", new { is_admin = false }));
                Assert.That(await AdminCountAsync(), Is.EqualTo(1), string.Join(" | ", results.Select(r => $"{(int)r.Status} {r.Body.ToJsonString()}")));
                await _app.SqlScalarAsync<int>("UPDATE users SET is_admin = true WHERE id IN (@A, @B) RETURNING 1", new { A = adminId, B = other.Id });
            }
        }
        finally
        {
            await _app.SqlScalarAsync<int>("UPDATE users SET is_admin = true WHERE id = @Id RETURNING 1", new { Id = adminId });
            await _app.SqlScalarAsync<int>("DELETE FROM users WHERE id = @Id RETURNING 1", new { other.Id });
        }
    }

    [Test]
    public async Task Deactivate_RevokesRefreshTokens_RefreshThenFailsWithInvalidGrant()
    {
        var user = await _app.CreateUserAsync();
        var tokens = await _app.PasswordTokenAsync(user.Username, user.Password);

        var sid = await InsertSessionAsync(user.Id);

        var (status, body) = await SendAsync(HttpMethod.Put, $"/admin/users/{user.Id}", new { is_active = false });
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(await _app.SqlScalarAsync<bool>("SELECT ended_at IS NOT NULL FROM sessions WHERE sid = @Sid", new { Sid = sid }), Is.True, "sessions end at once");

        var refresh = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "refresh_token"), ("refresh_token", AuthlyApp.Str(tokens, "refresh_token")));
        var error = await AuthlyApp.JsonAsync(refresh);
        Assert.That(refresh.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), error.ToJsonString());
        Assert.That(AuthlyApp.Str(error, "error"), Is.EqualTo("invalid_grant"));
        var introspect = await _app.PostFormAsync("/api/v1/oauth/introspect", ("token", AuthlyApp.Str(tokens, "access_token")));
        Assert.That((await AuthlyApp.JsonAsync(introspect))["active"]?.GetValue<bool>() ?? false, Is.False, "the access token issued with it is revoked too");
    }

    [Test]
    public async Task ResetPassword_RevokesRefreshTokens_AndReturnsATemporaryPasswordOnce()
    {
        var user = await _app.CreateUserAsync();
        var tokens = await _app.PasswordTokenAsync(user.Username, user.Password);

        var (status, body) = await SendAsync(HttpMethod.Post, $"/admin/users/{user.Id}/reset-password");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        var temporary = AuthlyApp.Str(body, "temporary_password");

        var refresh = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "refresh_token"), ("refresh_token", AuthlyApp.Str(tokens, "refresh_token")));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(refresh), "error"), Is.EqualTo("invalid_grant"));
        var old = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", user.Username), ("password", user.Password));
        Assert.That(old.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "the old password no longer works");
        await _app.PasswordTokenAsync(user.Username, temporary);
    }

    [Test]
    public async Task ResetPassword_WithChosenPassword_DoesNotEchoIt_AndTooShortIs400()
    {
        var user = await _app.CreateUserAsync();
        var (status, body) = await SendAsync(HttpMethod.Post, $"/admin/users/{user.Id}/reset-password", new { new_password = "Chosen-Password-9" });
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(body.ToJsonString(), Does.Not.Contain("Chosen-Password-9"));
        await _app.PasswordTokenAsync(user.Username, "Chosen-Password-9");

        var (bad, badBody) = await SendAsync(HttpMethod.Post, $"/admin/users/{user.Id}/reset-password", new { new_password = "short" });
        Assert.That(bad, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(AuthlyApp.Str(badBody, "field"), Is.EqualTo("new_password"));
        await _app.PasswordTokenAsync(user.Username, "Chosen-Password-9");
    }

    [Test]
    public async Task Unlock_ClearsTheLockout_SoTheRightPasswordWorksAgain()
    {
        var user = await _app.CreateUserAsync();
        for (var i = 0; i < 3; i++)
            await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", user.Username), ("password", "wrong-password"));
        var locked = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", user.Username), ("password", user.Password));
        Assert.That((int)locked.StatusCode, Is.EqualTo(429), "locked after 3 failures");

        var (status, body) = await SendAsync(HttpMethod.Post, $"/admin/users/{user.Id}/unlock");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());

        await _app.PasswordTokenAsync(user.Username, user.Password);
    }

    private Task<string> InsertSessionAsync(Guid userId) => _app.SqlScalarAsync<string>("""
        INSERT INTO sessions (id_hash, sid, user_id, auth_time, idle_expires_at, absolute_expires_at)
        VALUES (sha256(convert_to(@Hash, 'UTF8')), @Sid, @UserId, now(), now() + interval '1 hour', now() + interval '1 day') RETURNING sid
        """, new { Hash = Guid.NewGuid().ToString("N"), Sid = Guid.NewGuid().ToString("N"), UserId = userId });

    [Test]
    public async Task Sessions_ListedAndEnded_OneOrAll()
    {
        var user = await _app.CreateUserAsync();
        var sids = new List<string> { await InsertSessionAsync(user.Id), await InsertSessionAsync(user.Id) };

        var (_, listed) = await SendAsync(HttpMethod.Get, $"/admin/users/{user.Id}/sessions");
        Assert.That(listed["sessions"]!.AsArray().Select(s => s!["session_id"]!.GetValue<string>()), Is.EquivalentTo(sids));
        Assert.That(listed.ToJsonString(), Does.Not.Contain("id_hash"));

        var (one, _) = await SendAsync(HttpMethod.Delete, $"/admin/users/{user.Id}/sessions/{sids[0]}");
        var (again, _) = await SendAsync(HttpMethod.Delete, $"/admin/users/{user.Id}/sessions/{sids[0]}");
        Assert.That(one, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(again, Is.EqualTo(HttpStatusCode.NotFound), "an ended session is gone");

        var (all, _) = await SendAsync(HttpMethod.Delete, $"/admin/users/{user.Id}/sessions");
        Assert.That(all, Is.EqualTo(HttpStatusCode.OK));
        var (_, after) = await SendAsync(HttpMethod.Get, $"/admin/users/{user.Id}/sessions");
        Assert.That(after["sessions"]!.AsArray(), Is.Empty);
    }

    [Test]
    public async Task Delete_RemovesTheUser()
    {
        var user = await _app.CreateUserAsync();
        var (status, _) = await SendAsync(HttpMethod.Delete, $"/admin/users/{user.Id}");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await SendAsync(HttpMethod.Get, $"/admin/users/{user.Id}")).Status, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Status_HasTheApiMdShape_AndNoSecrets()
    {
        var (status, body) = await SendAsync(HttpMethod.Get, "/admin/status");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(body, "status"), Is.EqualTo("healthy"));
            Assert.That(body["database"]!["connected"]!.GetValue<bool>(), Is.True);
            Assert.That(body["database"]!["version"]!.GetValue<string>(), Is.Not.Empty);
            Assert.That(body["redis"]!["connected"]!.GetValue<bool>(), Is.True);
            Assert.That(body["configuration"], Is.Not.Null);
            foreach (var key in new[] { "oauth_clients", "oauth_scopes", "active_clients", "active_scopes", "users", "active_sessions" })
                Assert.That(body["statistics"]![key]!.GetValue<long>(), Is.GreaterThanOrEqualTo(0), key);
            Assert.That(body["statistics"]!["users"]!.GetValue<long>(), Is.GreaterThanOrEqualTo(1));
            Assert.That(body.ContainsKey("timestamp"), Is.True);
            Assert.That(body.ToJsonString(), Does.Not.Contain(AuthlyApp.AdminPassword).And.Not.Contain("secret_key"));
        });
    }

    [Test]
    public async Task DashboardStats_CountsUsers()
    {
        var (status, body) = await SendAsync(HttpMethod.Get, "/admin/dashboard/stats");
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(body["users"]!["total"]!.GetValue<long>(), Is.GreaterThanOrEqualTo(1));
        Assert.That(body["users"]!["admins"]!.GetValue<long>(), Is.GreaterThanOrEqualTo(1));
    }

    [TestCase("GET", "/admin/users", "admin:users:read")]
    [TestCase("POST", "/admin/users", "admin:users:write")]
    [TestCase("GET", "/admin/status", "admin:system:read")]
    [TestCase("GET", "/admin/dashboard/stats", "admin:system:read")]
    public async Task Routes_WithoutTheirScope_Return403(string method, string path, string scope)
    {
        var other = _app.BearerClient(await _app.AdminTokenAsync("admin:clients:read"));
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST") request.Content = JsonContent.Create(new { username = Unique(), email = Unique() + "@example.test", password = "Long-Enough-1" });
        var response = await other.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That(AuthlyApp.Str(await AuthlyApp.JsonAsync(response), "detail"), Does.Contain(scope));
    }

    [Test]
    public async Task Routes_WithoutToken_Return401()
    {
        var response = await _app.CreateClient().GetAsync("/admin/users");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }
}
