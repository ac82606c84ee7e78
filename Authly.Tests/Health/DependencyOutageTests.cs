using System.Net;
using System.Net.Http.Json;
using Authly.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace Authly.Tests.Health;

/// <summary>
/// Issue 12 finding 4: with PostgreSQL unreachable every OAuth endpoint, page and API answers 503 with
/// Retry-After (RFC 6749 §5.2 temporarily_unavailable on the OAuth ones), never 500, and all of it
/// recovers when the database is back. Its own fixture: each test cuts its database off and restores it.
/// The client used during the outage was never looked up before it, so no cache can answer for it.
/// </summary>
[TestFixture, Category("Health")]
public sealed class DependencyOutageTests : AppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "1000" };

    private string _database = null!;
    private string _adminToken = null!;
    private (string Id, string Secret) _cold;
    private string _refreshToken = null!;
    private string _userAccessToken = null!;
    private string _scriptAccessToken = null!;
    private (string Id, string Secret) _script;
    private BrowserFlow _browser = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _database = DatabaseServer.DatabaseName(_app.DatabaseConnectionString);
        _adminToken = await _app.AdminTokenAsync();
        var user = await _app.RegisterUserAsync();
        var tokens = await _app.PasswordTokenAsync(user.Username, user.Password, "openid read offline_access");
        _refreshToken = AuthlyApp.Str(tokens, "refresh_token");
        _userAccessToken = AuthlyApp.Str(tokens, "access_token");
        _script = await _app.ScriptClientAsync();
        _scriptAccessToken = _userAccessToken;
        _browser = new BrowserFlow(_app);
        await _browser.SignInDirectlyAsync(user);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        await DatabaseServer.RestoreAsync(_database);
        _browser.Dispose();
    }

    /// <summary>A client no node has looked up yet (each test its own), then the database goes away.</summary>
    [SetUp]
    public async Task CutOffAsync()
    {
        var (id, secret) = await _app.CreateClientAsync(new
        {
            client_name = "never looked up", client_type = "confidential", scope = "read write introspect",
            grant_types = new[] { "client_credentials", "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code" },
            redirect_uris = new[] { "https://app.example.test/cb" },
        });
        _cold = (id, secret!);
        await DatabaseServer.CutOffAsync(_database);
    }
    [TearDown] public Task RestoreAsync() => DatabaseServer.RestoreAsync(_database);

    private static async Task AssertTemporarilyUnavailableAsync(HttpResponseMessage response, string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), $"{what}: {body}");
            Assert.That(response.Headers.RetryAfter?.Delta, Is.GreaterThan(TimeSpan.Zero), $"{what}: Retry-After");
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True, $"{what}: no-store");
            Assert.That(body, Does.Contain("\"error\":\"temporarily_unavailable\""), what);
            Assert.That(body, Does.Not.Contain("Npgsql").And.Not.Contain("Exception"), $"{what}: nothing internal leaks");
        });
    }

    private static async Task AssertUnavailablePageAsync(HttpResponseMessage response, string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), $"{what}: {body}");
            Assert.That(response.Headers.Location, Is.Null, $"{what}: shown, not redirected with server_error");
            Assert.That(response.Headers.RetryAfter, Is.Not.Null, $"{what}: Retry-After");
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"), what);
            Assert.That(body, Does.Contain("Temporarily unavailable"), what);
        });
    }

    private static async Task AssertDatabaseUnavailableAsync(HttpResponseMessage response, string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), $"{what}: {body}");
            Assert.That(response.Headers.RetryAfter, Is.Not.Null, $"{what}: Retry-After");
            Assert.That(body, Does.Contain("\"error_code\":\"DATABASE_UNAVAILABLE\""), what);
        });
    }

    [TestCase("client_credentials")]
    [TestCase("password")]
    [TestCase("refresh_token")]
    [TestCase("authorization_code")]
    [TestCase("urn:ietf:params:oauth:grant-type:device_code")]
    public async Task Rfc6749_5_2_TokenEndpoint_WhenPostgresIsDown_Is503TemporarilyUnavailable(string grantType)
    {
        var response = grantType switch
        {
            "client_credentials" => await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(_cold.Id, _cold.Secret), ("grant_type", grantType)),
            // The script client is cached from setup: the user lookup and the rotation need the database.
            "password" => await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(_script.Id, _script.Secret),
                ("grant_type", grantType), ("username", "someone"), ("password", "Some-Password-1")),
            "refresh_token" => await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(_script.Id, _script.Secret),
                ("grant_type", grantType), ("refresh_token", _refreshToken)),
            "authorization_code" => await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(_cold.Id, _cold.Secret),
                ("grant_type", grantType), ("code", "abc"), ("redirect_uri", "https://app.example.test/cb"), ("code_verifier", new string('v', 43))),
            _ => await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(_cold.Id, _cold.Secret), ("grant_type", grantType), ("device_code", "abc")),
        };
        await AssertTemporarilyUnavailableAsync(response, grantType);
    }

    [Test]
    public async Task Rfc7662_Introspection_WhenPostgresIsDown_Is503_ForARefreshToken_AndForAnUncachedCaller()
    {
        var refresh = await _app.PostFormAsync("/api/v1/oauth/introspect", AuthlyApp.Basic(_script.Id, _script.Secret),
            ("token", _refreshToken), ("token_type_hint", "refresh_token"));
        await AssertTemporarilyUnavailableAsync(refresh, "introspect refresh token");
        var jwtByColdCaller = await _app.PostFormAsync("/api/v1/oauth/introspect", AuthlyApp.Basic(_cold.Id, _cold.Secret), ("token", _userAccessToken));
        await AssertTemporarilyUnavailableAsync(jwtByColdCaller, "introspect JWT, caller never cached");
    }

    [Test]
    public async Task Rfc7009_Revoke_DeviceAuthorization_UserInfo_WhenPostgresIsDown_Are503TemporarilyUnavailable()
    {
        await AssertTemporarilyUnavailableAsync(await _app.PostFormAsync("/api/v1/oauth/revoke", AuthlyApp.Basic(_script.Id, _script.Secret),
            ("token", _refreshToken)), "revoke");
        await AssertTemporarilyUnavailableAsync(await _app.PostFormAsync("/api/v1/oauth/device_authorization", AuthlyApp.Basic(_cold.Id, _cold.Secret),
            ("scope", "read")), "device_authorization");
        await AssertTemporarilyUnavailableAsync(await _app.BearerClient(_userAccessToken).GetAsync("/oidc/userinfo"), "userinfo");
    }

    [Test]
    public async Task Rfc6749_4_1_2_1_Authorize_WhenPostgresIsDown_Is503Page_NotARedirectWithServerError()
    {
        var query = $"?response_type=code&client_id={_cold.Id}&redirect_uri={Uri.EscapeDataString("https://app.example.test/cb")}" +
                    $"&scope=read&state=s&code_challenge={new string('c', 43)}&code_challenge_method=S256";
        await AssertUnavailablePageAsync(await _browser.GetAsync("/api/v1/oauth/authorize" + query), "GET authorize");
        var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query).Select(kv => new KeyValuePair<string, string>(kv.Key, kv.Value.ToString()));
        await AssertUnavailablePageAsync(await _browser.PostFormAsync("/api/v1/oauth/authorize", form), "POST authorize");
    }

    [Test]
    public async Task Issue12_Finding4_Pages_WhenPostgresIsDown_Are503Pages()
    {
        // The forms (and their CSRF tokens) are fetched while the database is up, then submitted while it is down.
        await DatabaseServer.RestoreAsync(_database);
        var anonymous = new BrowserFlow(_app);
        var login = await BrowserFlow.HtmlAsync(await anonymous.GetAsync("/login?return_to=%2Fdevice"));
        var device = await Eventually.TrueAsync(async () => (await _browser.GetAsync("/device")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(15));
        Assert.That(device, Is.True, "the device page did not load with the database up");
        var deviceFields = BrowserFlow.HiddenFields(await BrowserFlow.HtmlAsync(await _browser.GetAsync("/device")));
        deviceFields["user_code"] = "ABCD-EFGH";
        await DatabaseServer.CutOffAsync(_database);

        await AssertUnavailablePageAsync(await anonymous.SubmitLoginAsync(login, "someone", "Some-Password-1"), "POST /login");
        await AssertUnavailablePageAsync(await _browser.PostFormAsync("/device", deviceFields), "POST /device");
        await AssertUnavailablePageAsync(await _browser.GetAsync("/device"), "GET /device (signed in: the session is checked)");
        anonymous.Dispose();
    }

    [Test]
    public async Task Issue12_Finding4_JsonApis_WhenPostgresIsDown_Are503DatabaseUnavailable()
    {
        var admin = _app.BearerClient(_adminToken);
        await AssertDatabaseUnavailableAsync(await admin.GetAsync("/admin/clients"), "admin clients");
        await AssertDatabaseUnavailableAsync(await admin.GetAsync("/admin/users"), "admin users");
        await AssertDatabaseUnavailableAsync(await admin.GetAsync("/api/v1/users/"), "users API (admin)");
        await AssertDatabaseUnavailableAsync(await _app.BearerClient(_userAccessToken).GetAsync("/api/v1/users/me"), "users API (me)");
        await AssertDatabaseUnavailableAsync(await _app.BearerClient(_userAccessToken).GetAsync("/api/v1/vault/tokens"), "vault API");
        await AssertDatabaseUnavailableAsync(await admin.GetAsync("/admin/vault/providers"), "admin vault API");
        await AssertDatabaseUnavailableAsync(await _app.CreateClient().PostAsJsonAsync("/api/v1/users/",
            new { username = "u" + Guid.NewGuid().ToString("N")[..10], email = "x@example.test", password = "User-Password-123" }), "registration");
    }

    /// <summary>
    /// Every route the server maps (read from its EndpointDataSource, so a route added later is covered),
    /// sent as an anonymous caller, as an admin bearer and as a signed-in browser while the database is
    /// cut off: none answers 500. Then the database comes back and the same routes recover.
    /// </summary>
    [Test]
    public async Task Issue12_Finding4_EveryRoute_WhenPostgresIsDown_NeverAnswers500_AndRecovers()
    {
        var routes = Routes();
        Assert.That(routes, Has.Count.GreaterThan(40), "the sweep sees the server's routes");
        var callers = new[]
        {
            _app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false }),
            _app.BearerClient(_adminToken),
            _browser.Http,
        };
        var failures = new List<string>();
        var unavailable = 0;
        foreach (var (method, path) in routes)
            foreach (var http in callers)
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path + "?client_id=" + _cold.Id);
                if (method is "POST" or "PUT" or "PATCH" or "DELETE")
                    request.Content = AuthlyApp.Form(("grant_type", "client_credentials"), ("client_id", _cold.Id), ("token", _refreshToken),
                        ("username", "someone"), ("password", "Some-Password-1"), ("user_code", "ABCD-EFGH"));
                HttpResponseMessage response;
                try { response = await http.SendAsync(request); }
                catch (Exception e) { failures.Add($"{method} {path}: threw {e.GetType().Name}"); continue; }
                if ((int)response.StatusCode >= 500 && response.StatusCode != HttpStatusCode.ServiceUnavailable)
                    failures.Add($"{method} {path}: {(int)response.StatusCode}");
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    unavailable++;
                    if (response.Headers.RetryAfter is null && !path.StartsWith("/health", StringComparison.Ordinal))
                        failures.Add($"{method} {path}: 503 without Retry-After");
                }
            }
        Assert.That(failures, Is.Empty);
        Assert.That(unavailable, Is.GreaterThan(routes.Count / 2), "most routes need the database and say so");

        await DatabaseServer.RestoreAsync(_database);
        var recovered = await Eventually.TrueAsync(async () =>
            (await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(_cold.Id, _cold.Secret), ("grant_type", "client_credentials"))).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(15));
        Assert.That(recovered, Is.True, "client_credentials did not recover after the database came back");
        var me = await _app.BearerClient(_userAccessToken).GetAsync("/api/v1/users/me");
        Assert.That(me.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the users API recovered");
    }

    private List<(string Method, string Path)> Routes()
    {
        var source = _app.Services.GetRequiredService<EndpointDataSource>();
        var routes = new List<(string, string)>();
        foreach (var endpoint in source.Endpoints.OfType<RouteEndpoint>())
        {
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET", "POST"];
            var path = string.Concat(RoutePatternFactory.Parse(endpoint.RoutePattern.RawText ?? "/").PathSegments.Select(segment =>
                "/" + string.Concat(segment.Parts.Select(part => part switch
                {
                    RoutePatternLiteralPart l => l.Content,
                    RoutePatternParameterPart p => p.ParameterPolicies.Any(c => c.Content == "guid") ? Guid.NewGuid().ToString() : "x",
                    RoutePatternSeparatorPart s => s.Content,
                    _ => "",
                }))));
            foreach (var method in methods.Where(m => m is not ("OPTIONS" or "HEAD")))
                routes.Add((method, path.Length == 0 ? "/" : path));
        }
        return routes.Distinct().OrderBy(r => r.Item2, StringComparer.Ordinal).ToList();
    }
}
