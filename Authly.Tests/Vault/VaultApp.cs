using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Authly.Security;
using Authly.Tests.Infrastructure;
using Authly.Users;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Authly.Tests.Vault;

/// <summary>Small helpers for driving the vault of an in-process <see cref="AuthlyApp"/>; tests still assert on the raw responses.</summary>
internal static partial class VaultApp
{
    public const string VaultScopes = "vault:read vault:write";

    public sealed record User(Guid Id, string Username, string Password, string Token);

    /// <summary>A verified user of the vault server with a bearer token carrying <paramref name="scope"/>.</summary>
    public static async Task<User> UserAsync(AuthlyApp app, string scope = VaultScopes)
    {
        var username = "v" + OpaqueToken.New(6).Replace('-', 'x').Replace('_', 'y').ToLowerInvariant();
        const string password = "Vault-User-Password-1";
        var accounts = app.Services.GetRequiredService<UserAccounts>();
        var (user, _) = await accounts.CreateAsync(new UserProfile
        {
            Username = username, Email = username + "@example.test", Password = password, IsVerified = true,
        }, generateTemporaryPassword: false, CancellationToken.None);
        var token = AuthlyApp.Str(await app.PasswordTokenAsync(username, password, scope), "access_token");
        return new User(user.Id, username, password, token);
    }

    /// <summary>The user's token through a third-party app (this server's script client), not the first-party one in <see cref="User.Token"/>.</summary>
    public static async Task<string> ThirdPartyTokenAsync(AuthlyApp app, User user, string scope = VaultScopes)
    {
        var (id, secret) = await app.ScriptClientAsync();
        var response = await app.PostFormAsync("/api/v1/oauth/token", AuthlyApp.Basic(id, secret),
            ("grant_type", "password"), ("username", user.Username), ("password", user.Password), ("scope", scope));
        return AuthlyApp.Str(await OAuthAssert.TokenAsync(response), "access_token");
    }

    /// <summary>A service client of the vault server (client_credentials) and a token for it.</summary>
    public static async Task<(string ClientId, string Token)> ServiceAsync(AuthlyApp app, string scope = VaultScopes)
    {
        var (id, secret) = await app.CreateConfidentialClientAsync(scope, ["client_credentials"]);
        var http = app.CreateClient();
        http.DefaultRequestHeaders.Authorization = AuthlyApp.Basic(id, secret!);
        var response = await http.PostAsync("/api/v1/oauth/token", AuthlyApp.Form(("grant_type", "client_credentials"), ("scope", scope)));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That((int)response.StatusCode, Is.EqualTo(200), body.ToJsonString());
        return (id, AuthlyApp.Str(body, "access_token"));
    }

    /// <summary>An HTTP client with the bearer token that does not follow redirects (the connect flow's redirects are asserted).</summary>
    public static HttpClient Client(AuthlyApp app, string? token)
    {
        var http = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>The user's browser at <paramref name="app"/>, signed in on the login form (the connect flow takes the session cookie only).</summary>
    public static async Task<HttpClient> BrowserAsync(AuthlyApp app, User user)
    {
        var browser = Client(app, token: null);
        var login = await browser.GetAsync("/login?return_to=%2F");
        var fields = HiddenFields(await login.Content.ReadAsStringAsync());
        var signedIn = await browser.PostAsync("/login", AuthlyApp.Form(("username", user.Username), ("password", user.Password),
            ("csrf_token", fields["csrf_token"]), ("return_to", fields["return_to"])));
        Assert.That(signedIn.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await signedIn.Content.ReadAsStringAsync());
        return browser;
    }

    /// <summary>
    /// Runs the connect flow for <paramref name="user"/> in their signed-in browser: GET /connect → the provider's authorize URL →
    /// <paramref name="approve"/> (the browser at the provider) → the callback → the entry id from the redirect to return_to.
    /// </summary>
    public static async Task<Guid> ConnectAsync(AuthlyApp app, User user, string provider, Func<string, Task<Uri>> approve, string purpose = "default")
    {
        using var http = await BrowserAsync(app, user);
        var start = await http.GetAsync($"/api/v1/vault/connect/{provider}?purpose={Uri.EscapeDataString(purpose)}&return_to=/done");
        Assert.That(start.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await start.Content.ReadAsStringAsync());
        var callback = await approve(start.Headers.Location!.ToString());
        Assert.That(callback.AbsolutePath, Is.EqualTo("/api/v1/vault/callback"), callback.ToString());
        var done = await http.GetAsync(callback.PathAndQuery);
        Assert.That(done.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await done.Content.ReadAsStringAsync());
        var location = done.Headers.Location!.ToString();
        Assert.That(location, Does.StartWith("/done?vault_entry="));
        return Guid.Parse(location["/done?vault_entry=".Length..]);
    }

    /// <summary>The user's browser at the local provider (this Authly): signs in and approves the consent page.</summary>
    public static async Task<Uri> ApproveLocallyAsync(AuthlyApp app, User user, string authorizeUrl)
    {
        using var http = await BrowserAsync(app, user);
        return await ApproveAsync(http, authorizeUrl);
    }

    /// <summary>Opens the consent page of this server with <paramref name="browser"/> and presses Allow; returns the redirect.</summary>
    public static async Task<Uri> ApproveAsync(HttpClient browser, string authorizeUrl)
    {
        var consent = await browser.GetAsync(new Uri(authorizeUrl).PathAndQuery);
        var html = await consent.Content.ReadAsStringAsync();
        Assert.That(consent.StatusCode, Is.EqualTo(HttpStatusCode.OK), html);
        var fields = HiddenFields(html).Select(kv => (kv.Key, kv.Value)).Append(("approved", "true")).ToArray();
        var approved = await browser.PostAsync("/api/v1/oauth/authorize", AuthlyApp.Form(fields));
        Assert.That(approved.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await approved.Content.ReadAsStringAsync());
        return approved.Headers.Location!;
    }

    public static Dictionary<string, string> HiddenFields(string html) =>
        HiddenInput().Matches(html).ToDictionary(m => WebUtility.HtmlDecode(m.Groups[1].Value), m => WebUtility.HtmlDecode(m.Groups[2].Value));

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenInput();

    public static async Task<(HttpStatusCode Status, JsonObject Body)> MintAsync(HttpClient http, Guid entry, object? body = null)
    {
        var response = await http.PostAsync($"/api/v1/vault/tokens/{entry}/access-token", JsonContent.Create(body ?? new { }));
        return (response.StatusCode, await AuthlyApp.JsonAsync(response));
    }

    public static async Task<(HttpStatusCode Status, JsonObject Body)> SendAsync(HttpClient http, HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = text.Length > 0 && JsonNode.Parse(text) is JsonObject o ? o : new JsonObject { ["array"] = JsonNode.Parse(text) };
        return (response.StatusCode, json);
    }
}
