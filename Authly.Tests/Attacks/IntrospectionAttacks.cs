using System.Net;
using System.Net.Http.Headers;
using Authly.Security;
using Authly.Tests.Cli;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Token scanning through introspection (RFC 7662 §4: "to prevent token scanning attacks, the
/// endpoint MUST also require some form of authorization"; §2.1). Someone holding a stolen or
/// guessed token must not be able to learn whether it is live, whose it is and what it may do.
/// In production mode the endpoint answers only confidential clients and bearers with the
/// `introspect` scope; embedded mode stays open for local tools and says so once at start.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class IntrospectionAttacks
{
    private AuthlyApp _production = null!;
    private string _victimToken = "";

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        // Production mode with nothing about introspection configured: the default must be safe.
        _production = await AuthlyApp.StartAsync(new Dictionary<string, string?>
        {
            ["AUTHLY_MODE"] = "production", ["JWT_SECRET_KEY"] = OpaqueToken.New(32), ["JWT_REFRESH_SECRET_KEY"] = OpaqueToken.New(32),
        });
        var victim = await _production.CreateUserAsync();
        _victimToken = AuthlyApp.Str(await _production.PasswordTokenAsync(victim.Username, victim.Password, "read write"), "access_token");
    }

    [OneTimeTearDown] public void Stop() => _production.Dispose();

    private static readonly Dictionary<string, string?> ServeEnvironment = new()
    {
        ["REDIS_URL"] = null, ["AUTHLY_ADMIN_PASSWORD"] = AuthlyApp.AdminPassword, ["AUTHLY_ARGON2_OPSLIMIT"] = "1",
        ["AUTHLY_ARGON2_MEMLIMIT_KIB"] = "8192", ["LOG_LEVEL"] = "Warning", ["AUTHLY_ACCESS_LOG"] = "false",
        ["AUTHLY_INTROSPECTION_REQUIRE_AUTH"] = null, ["JWT_SECRET_KEY"] = null, ["JWT_REFRESH_SECRET_KEY"] = null,
    };

    private static int Occurrences(string text, string part) => text.Split(part).Length - 1;

    [Test, Description("RFC 7662 §2.1, §4: no credentials in production mode → 401 invalid_client, nothing about the token")]
    public async Task TokenScanning_WithoutCredentials_InProductionMode_Returns401InvalidClient()
    {
        var response = await _production.PostFormAsync(IntrospectPath, ("token", _victimToken));
        var body = await OAuthAssert.InvalidClientAsync(response);
        Assert.That(body.ToJsonString(), Does.Not.Contain("active"));
    }

    [Test, Description("RFC 7662 §2.1; RFC 6749 §2.3: a public client cannot authenticate, so its client_id proves nothing")]
    public async Task TokenScanning_WithAPublicClientsId_InProductionMode_IsRefused()
    {
        var (publicId, _) = await _production.CreateClientAsync(new
        {
            client_name = "public", client_type = "public", scope = "read", grant_types = new[] { "authorization_code" },
            redirect_uris = new[] { "http://127.0.0.1/cb" },
        });
        await OAuthAssert.InvalidClientAsync(await _production.PostFormAsync(IntrospectPath, ("token", _victimToken), ("client_id", publicId)));
        await OAuthAssert.InvalidClientAsync(await _production.PostFormAsync(IntrospectPath, ("token", _victimToken), ("client_id", publicId), ("client_secret", "")));
        await OAuthAssert.InvalidClientAsync(await _production.PostFormAsync(IntrospectPath, AuthlyApp.Basic(publicId, ""), ("token", _victimToken)));
    }

    [Test, Description("RFC 7662 §2.1; RFC 6750 §3.1: an ordinary access token (no 'introspect' scope) → 403 insufficient_scope")]
    public async Task TokenScanning_WithABearerWithoutTheIntrospectScope_Returns403()
    {
        var attacker = await _production.CreateUserAsync();
        var own = AuthlyApp.Str(await _production.PasswordTokenAsync(attacker.Username, attacker.Password, "read"), "access_token");
        var response = await _production.PostFormAsync(IntrospectPath, new AuthenticationHeaderValue("Bearer", own), ("token", _victimToken));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "insufficient_scope");

        var (id, secret) = await _production.CreateConfidentialClientAsync(scope: "read", grants: ["client_credentials"]);
        var clientToken = AuthlyApp.Str(await OAuthAssert.TokenAsync(await _production.PostFormAsync("/api/v1/oauth/token",
            AuthlyApp.Basic(id, secret!), ("grant_type", "client_credentials"), ("scope", "read"))), "access_token");
        response = await _production.PostFormAsync(IntrospectPath, new AuthenticationHeaderValue("Bearer", clientToken), ("token", _victimToken));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "insufficient_scope");
    }

    [Test, Description("RFC 7662 §2.1: the resource server's own confidential credentials still work in production mode")]
    public async Task Introspection_WithConfidentialClientCredentials_InProductionMode_Answers()
    {
        var (id, secret) = await _production.CreateConfidentialClientAsync(scope: "read", grants: ["client_credentials"]);
        var response = await _production.PostFormAsync(IntrospectPath, AuthlyApp.Basic(id, secret!), ("token", _victimToken));
        Assert.That((await AuthlyApp.JsonAsync(response))["active"]!.GetValue<bool>(), Is.True);
    }

    [Test, Description("RFC 7662 §2.1: embedded mode (a developer's machine) stays open, with one warning at start")]
    public async Task Introspection_InEmbeddedMode_IsOpen_AndSaysSoOnceAtStart()
    {
        var env = new Dictionary<string, string?>(ServeEnvironment)
        {
            ["DATABASE_URL"] = DatabaseServer.Url(await TestServers.CreateDatabaseAsync()), ["AUTHLY_MODE"] = "embedded",
        };
        await using var serve = await ServeProcess.StartAsync(env);
        using var http = new HttpClient();
        var token = await PasswordTokenAsync(http, serve.Url);
        var response = await http.PostAsync(serve.Url + IntrospectPath, AuthlyApp.Form(("token", token)));
        Assert.That((await AuthlyApp.JsonAsync(response))["active"]!.GetValue<bool>(), Is.True);
        // The console logger writes from its own thread: the warning may follow the banner.
        await Eventually.TrueAsync(() => Task.FromResult(serve.Output.Contains("AUTHLY_INTROSPECTION_REQUIRE_AUTH")), TimeSpan.FromSeconds(10));
        Assert.That(Occurrences(serve.Output, "AUTHLY_INTROSPECTION_REQUIRE_AUTH"), Is.EqualTo(1), serve.Output);
    }

    [Test, Description("RFC 7662 §4: an operator who opens introspection in production is warned loudly")]
    public async Task Introspection_OpenedExplicitlyInProductionMode_WarnsLoudly()
    {
        var env = new Dictionary<string, string?>(ServeEnvironment)
        {
            ["DATABASE_URL"] = DatabaseServer.Url(await TestServers.CreateDatabaseAsync()), ["AUTHLY_MODE"] = "production",
            ["JWT_SECRET_KEY"] = OpaqueToken.New(32), ["JWT_REFRESH_SECRET_KEY"] = OpaqueToken.New(32),
            ["AUTHLY_INTROSPECTION_REQUIRE_AUTH"] = "false",
        };
        await using var serve = await ServeProcess.StartAsync(env);
        using var http = new HttpClient();
        var token = await PasswordTokenAsync(http, serve.Url);
        var response = await http.PostAsync(serve.Url + IntrospectPath, AuthlyApp.Form(("token", token)));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the operator's explicit choice is honoured");
        await Eventually.TrueAsync(() => Task.FromResult(serve.Output.Contains("INSECURE")), TimeSpan.FromSeconds(10));
        Assert.That(serve.Output, Does.Contain("INSECURE").And.Contain("AUTHLY_INTROSPECTION_REQUIRE_AUTH=false"), serve.Output);
    }

    private static async Task<string> PasswordTokenAsync(HttpClient http, string url)
    {
        var response = await http.PostAsync(url + "/api/v1/oauth/token", AuthlyApp.Form(("grant_type", "password"),
            ("username", AuthlyApp.AdminUsername), ("password", AuthlyApp.AdminPassword), ("scope", "account:read")));
        return AuthlyApp.Str(await OAuthAssert.TokenAsync(response), "access_token");
    }
}
