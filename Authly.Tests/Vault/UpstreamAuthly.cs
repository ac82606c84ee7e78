using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Authly.Security;
using Authly.Tests.Cluster;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Vault;

/// <summary>
/// A second, real Authly process playing the upstream OpenID provider, over real HTTP: its own
/// database, a confidential client registered for the vault's callback, users made per test,
/// and a cookie-keeping browser that signs in and consents the way a person would.
/// </summary>
internal sealed partial class UpstreamAuthly : IAsyncDisposable
{
    public const string Scopes = "openid profile offline_access read";
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(20) };
    public AuthlyNode Node { get; }
    public string Issuer => Node.Url;
    public string ClientId { get; private set; } = "";
    public string ClientSecret { get; private set; } = "";
    private string _adminToken = "";

    private UpstreamAuthly(AuthlyNode node) => Node = node;

    public static async Task<UpstreamAuthly> StartAsync(string redirectUri)
    {
        var port = AuthlyNode.FreePort();
        var env = ClusterEnvironment.For(await TestServers.CreateDatabaseAsync(), $"http://127.0.0.1:{port}");
        var upstream = new UpstreamAuthly(await AuthlyNode.StartAsync(env, port));
        upstream._adminToken = AuthlyApp.Str(await upstream.PasswordTokenAsync(AuthlyApp.AdminUsername, AuthlyApp.AdminPassword,
            "admin:clients:write admin:users:write"), "access_token");
        var client = await upstream.AdminPostAsync("/admin/clients", new
        {
            client_name = "Authly vault under test", client_type = "confidential", redirect_uris = new[] { redirectUri },
            grant_types = new[] { "authorization_code", "refresh_token" }, scope = Scopes,
        });
        upstream.ClientId = AuthlyApp.Str(client, "client_id");
        upstream.ClientSecret = AuthlyApp.Str(client, "client_secret");
        return upstream;
    }

    public sealed record User(Guid Id, string Username, string Password);

    /// <summary>A verified user of the upstream, unique to the caller.</summary>
    public async Task<User> CreateUserAsync()
    {
        var username = "up" + OpaqueToken.New(6).Replace('-', 'x').Replace('_', 'y').ToLowerInvariant();
        const string password = "Upstream-Password-1";
        var response = await _http.PostAsJsonAsync(Issuer + "/api/v1/users/", new { username, email = username + "@example.test", password });
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That((int)response.StatusCode, Is.EqualTo(201), body.ToJsonString());
        var id = Guid.Parse(AuthlyApp.Str(body, "id"));
        using var verify = new HttpRequestMessage(HttpMethod.Put, $"{Issuer}/api/v1/users/{id}/verify");
        verify.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _adminToken);
        Assert.That((int)(await _http.SendAsync(verify)).StatusCode, Is.EqualTo(200));
        return new User(id, username, password);
    }

    public async Task<JsonObject> PasswordTokenAsync(string username, string password, string scope)
    {
        var response = await _http.PostAsync(Issuer + "/api/v1/oauth/token",
            AuthlyApp.Form(("grant_type", "password"), ("username", username), ("password", password), ("scope", scope)));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That((int)response.StatusCode, Is.EqualTo(200), body.ToJsonString());
        return body;
    }

    /// <summary>The user signs out everywhere at the upstream (POST /api/v1/auth/logout): every refresh token they hold there dies.</summary>
    public async Task LogoutEverywhereAsync(User user)
    {
        // The first-party CLI's kind of token: signing out everywhere needs account:write (issue 11).
        var token = AuthlyApp.Str(await PasswordTokenAsync(user.Username, user.Password, "account:write"), "access_token");
        using var request = new HttpRequestMessage(HttpMethod.Post, Issuer + "/api/v1/auth/logout");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.That((int)(await _http.SendAsync(request)).StatusCode, Is.EqualTo(200));
    }

    /// <summary>RFC 7662 at the upstream, authenticated as the vault's client.</summary>
    public async Task<bool> IsActiveAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Issuer + "/api/v1/oauth/introspect") { Content = AuthlyApp.Form(("token", token)) };
        request.Headers.Authorization = AuthlyApp.Basic(ClientId, ClientSecret);
        var body = await AuthlyApp.JsonAsync(await _http.SendAsync(request));
        return body["active"]!.GetValue<bool>();
    }

    public async Task<JsonObject> IntrospectAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Issuer + "/api/v1/oauth/introspect") { Content = AuthlyApp.Form(("token", token)) };
        request.Headers.Authorization = AuthlyApp.Basic(ClientId, ClientSecret);
        return await AuthlyApp.JsonAsync(await _http.SendAsync(request));
    }

    /// <summary>
    /// A browser at the upstream: opens the authorization URL, signs in on the login form, approves
    /// the consent page, and returns where the upstream redirects (the vault's callback, with code and state).
    /// </summary>
    public async Task<Uri> SignInAndApproveAsync(string authorizeUrl, User user)
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer(), UseCookies = true };
        using var browser = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
        Assert.That(authorizeUrl, Does.StartWith(Issuer + "/api/v1/oauth/authorize?"));

        var login = await browser.GetAsync(authorizeUrl);
        var loginHtml = await login.Content.ReadAsStringAsync();
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.OK), loginHtml);
        var loginFields = HiddenFields(loginHtml);
        var signedIn = await browser.PostAsync(Issuer + "/login", AuthlyApp.Form(("username", user.Username), ("password", user.Password),
            ("csrf_token", loginFields["csrf_token"]), ("return_to", loginFields["return_to"])));
        Assert.That(signedIn.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await signedIn.Content.ReadAsStringAsync());

        var consent = await browser.GetAsync(new Uri(new Uri(Issuer), signedIn.Headers.Location!));
        var consentHtml = await consent.Content.ReadAsStringAsync();
        Assert.That(consent.StatusCode, Is.EqualTo(HttpStatusCode.OK), consentHtml);
        Assert.That(consentHtml, Does.Contain("authorize-btn"), "the consent page");
        var fields = HiddenFields(consentHtml).Select(kv => (kv.Key, kv.Value)).Append(("approved", "true")).ToArray();
        var approved = await browser.PostAsync(Issuer + "/api/v1/oauth/authorize", AuthlyApp.Form(fields));
        Assert.That(approved.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await approved.Content.ReadAsStringAsync());
        return approved.Headers.Location!;
    }

    /// <summary>An authorization code flow run by a service itself (not the vault): returns the upstream's token response.</summary>
    public async Task<JsonObject> CodeFlowAsync(User user, string redirectUri, string scope = Scopes)
    {
        var verifier = OpaqueToken.New(32);
        var url = $"{Issuer}/api/v1/oauth/authorize?response_type=code&client_id={Uri.EscapeDataString(ClientId)}" +
                  $"&redirect_uri={Uri.EscapeDataString(redirectUri)}&scope={Uri.EscapeDataString(scope)}&state=s1" +
                  $"&code_challenge={Authorization.Pkce.Challenge(verifier)}&code_challenge_method=S256&nonce=n1";
        var callback = await SignInAndApproveAsync(url, user);
        var code = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(callback.Query)["code"].ToString();
        using var request = new HttpRequestMessage(HttpMethod.Post, Issuer + "/api/v1/oauth/token")
        {
            Content = AuthlyApp.Form(("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectUri), ("code_verifier", verifier)),
        };
        request.Headers.Authorization = AuthlyApp.Basic(ClientId, ClientSecret);
        var response = await _http.SendAsync(request);
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That((int)response.StatusCode, Is.EqualTo(200), body.ToJsonString());
        return body;
    }

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenInput();

    private static Dictionary<string, string> HiddenFields(string html) =>
        HiddenInput().Matches(html).ToDictionary(m => WebUtility.HtmlDecode(m.Groups[1].Value), m => WebUtility.HtmlDecode(m.Groups[2].Value));

    private async Task<JsonObject> AdminPostAsync(string path, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Issuer + path) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _adminToken);
        var response = await _http.SendAsync(request);
        var json = await AuthlyApp.JsonAsync(response);
        Assert.That((int)response.StatusCode, Is.EqualTo(200), json.ToJsonString());
        return json;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Node.DisposeAsync();
    }
}
