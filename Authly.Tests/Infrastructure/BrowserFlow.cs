using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.AspNetCore.Mvc.Testing.Handlers;
using Microsoft.AspNetCore.WebUtilities;

namespace Authly.Tests.Infrastructure;

/// <summary>
/// One browser, followed by hand: cookies kept, redirects not followed, forms read from the HTML
/// (hidden inputs) and posted back, as a user's browser would. Tests assert on the raw responses.
/// </summary>
public sealed partial class BrowserFlow(AuthlyApp app) : IDisposable
{
    // What CreateClient(AllowAutoRedirect = false, HandleCookies = true) builds, with the jar kept at hand.
    private readonly CookieContainerHandler _jar = new();
    private HttpClient? _http;
    public HttpClient Http => _http ??= app.CreateDefaultClient(new Uri("http://localhost"), _jar);
    public AuthlyApp App => app;

    /// <summary>This browser's cookies: attack tests read one browser's cookie and plant it in another.</summary>
    public CookieContainer Cookies => _jar.Container;

    public string? Cookie(string name) => Cookies.GetCookies(new Uri("http://localhost/"))[name]?.Value;

    /// <summary>Sets a cookie as a related-domain attacker could (cookie tossing); it replaces this browser's own of that name.</summary>
    public void PlantCookie(string name, string value) => Cookies.Add(new Uri("http://localhost/"), new System.Net.Cookie(name, value, "/"));

    /// <summary>An authorization request (RFC 6749 §4.1.1 + RFC 7636 + OIDC). In <see cref="Extra"/>, a null value removes a default parameter.</summary>
    public sealed record Request(string ClientId, string RedirectUri, string Scope = "openid profile email")
    {
        public string Verifier { get; init; } = NewVerifier();
        public string? State { get; init; } = "st-" + Guid.NewGuid().ToString("N")[..10];
        public string? Nonce { get; init; }
        public IReadOnlyDictionary<string, string?> Extra { get; init; } = new Dictionary<string, string?>();

        public string Challenge => BrowserFlow.Challenge(Verifier);

        public IReadOnlyList<KeyValuePair<string, string>> Parameters
        {
            get
            {
                var p = new Dictionary<string, string?>
                {
                    ["response_type"] = "code", ["client_id"] = ClientId, ["redirect_uri"] = RedirectUri, ["scope"] = Scope,
                    ["state"] = State, ["code_challenge"] = Challenge, ["code_challenge_method"] = "S256", ["nonce"] = Nonce,
                };
                foreach (var (k, v) in Extra) p[k] = v;
                return p.Where(kv => kv.Value is not null).Select(kv => new KeyValuePair<string, string>(kv.Key, kv.Value!)).ToList();
            }
        }

        public string Url => QueryHelpers.AddQueryString(AuthorizePath, Parameters.Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value)));
    }

    public static string NewVerifier(int length = 64)
    {
        var s = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(length));
        return s[..length];
    }

    public static string Challenge(string verifier) => Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    public Task<HttpResponseMessage> GetAsync(string url) => Http.GetAsync(url);

    public static async Task<string> HtmlAsync(HttpResponseMessage response)
    {
        var html = await response.Content.ReadAsStringAsync();
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"), $"{(int)response.StatusCode}: {html}");
        return html;
    }

    public static bool IsLoginPage(string html) => html.Contains("action=\"/login\"", StringComparison.Ordinal);
    public static bool IsConsentPage(string html) => html.Contains("id=\"authorize-btn\"", StringComparison.Ordinal) && html.Contains("action=\"/api/v1/oauth/authorize\"", StringComparison.Ordinal);

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]*)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenInput();

    [GeneratedRegex("<form method=\"post\" action=\"([^\"]*)\"")]
    private static partial Regex FormActionPattern();

    /// <summary>The hidden inputs of the page's forms, HTML-decoded.</summary>
    public static Dictionary<string, string> HiddenFields(string html) =>
        HiddenInput().Matches(html).ToDictionary(m => WebUtility.HtmlDecode(m.Groups[1].Value), m => WebUtility.HtmlDecode(m.Groups[2].Value));

    public static string FormAction(string html) =>
        WebUtility.HtmlDecode(FormActionPattern().Match(html) is { Success: true } m ? m.Groups[1].Value : throw new AssertionException("no form in: " + html));

    public Task<HttpResponseMessage> PostFormAsync(string path, IEnumerable<KeyValuePair<string, string>> fields) =>
        Http.PostAsync(path, new FormUrlEncodedContent(fields));

    /// <summary>Submits the login form of <paramref name="loginHtml"/>; <paramref name="change"/> may edit the fields (e.g. drop the CSRF token).</summary>
    public Task<HttpResponseMessage> SubmitLoginAsync(string loginHtml, string username, string password, Action<Dictionary<string, string>>? change = null)
    {
        Assert.That(IsLoginPage(loginHtml), Is.True, "not the login page: " + loginHtml);
        var fields = HiddenFields(loginHtml);
        fields["username"] = username;
        fields["password"] = password;
        change?.Invoke(fields);
        return PostFormAsync(LoginPath, fields);
    }

    /// <summary>Presses Allow or Deny on the consent page; <paramref name="change"/> may edit the fields.</summary>
    public Task<HttpResponseMessage> DecideAsync(string consentHtml, bool approve, Action<Dictionary<string, string>>? change = null)
    {
        Assert.That(IsConsentPage(consentHtml), Is.True, "not the consent page: " + consentHtml);
        var fields = HiddenFields(consentHtml);
        fields["approved"] = approve ? "true" : "false";
        change?.Invoke(fields);
        return PostFormAsync(FormAction(consentHtml), fields);
    }

    /// <summary>Follows a redirect that stays on the server (the login's return_to).</summary>
    public Task<HttpResponseMessage> FollowAsync(HttpResponseMessage redirect)
    {
        Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Redirect).Or.EqualTo(HttpStatusCode.Found), "not a redirect");
        var location = redirect.Headers.Location ?? throw new AssertionException("redirect without Location");
        Assert.That(location.IsAbsoluteUri ? location.Host : "localhost", Is.EqualTo("localhost"), "redirect leaves the server: " + location);
        return Http.GetAsync(location);
    }

    /// <summary>Opens the authorize URL without a session, signs in, and returns what the authorize endpoint answers next.</summary>
    public async Task<HttpResponseMessage> SignInAsync(Request request, TestUsers.TestUser user)
    {
        var login = await HtmlAsync(await GetAsync(request.Url));
        var posted = await SubmitLoginAsync(login, user.Username, user.Password);
        Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await posted.Content.ReadAsStringAsync());
        return await FollowAsync(posted);
    }

    /// <summary>Signs in with the login form (a return_to of the device page, so nothing else starts).</summary>
    public async Task SignInDirectlyAsync(TestUsers.TestUser user)
    {
        var login = await HtmlAsync(await GetAsync("/login?return_to=%2Fdevice"));
        var posted = await SubmitLoginAsync(login, user.Username, user.Password);
        Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await posted.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// The whole front channel: opens the authorize URL, signs in when asked, allows when asked,
    /// and returns the final redirect to the client (asserted to be on <see cref="Request.RedirectUri"/>).
    /// </summary>
    public async Task<Uri> AuthorizeAsync(Request request, TestUsers.TestUser user)
    {
        var response = await GetAsync(request.Url);
        for (var step = 0; ; step++)
        {
            if (step > 6) throw new AssertionException("too many steps: a login or consent loop");
            if (IsOwnRedirect(response)) { response = await FollowAsync(response); continue; }
            if (response.StatusCode == HttpStatusCode.Redirect) break;
            var html = await HtmlAsync(response);
            if (IsLoginPage(html)) response = await SubmitLoginAsync(html, user.Username, user.Password);
            else if (IsConsentPage(html)) response = await DecideAsync(html, approve: true);
            else throw new AssertionException($"unexpected page ({(int)response.StatusCode}): {html}");
        }
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await response.Content.ReadAsStringAsync());
        var location = response.Headers.Location!;
        Assert.That(location.OriginalString, Does.StartWith(request.RedirectUri), "redirect goes elsewhere");
        return location;
    }

    private static bool IsOwnRedirect(HttpResponseMessage r) =>
        r.StatusCode == HttpStatusCode.Redirect && r.Headers.Location is { } l && (!l.IsAbsoluteUri || l.Host == "localhost");

    /// <summary>Authorizes and returns the code, asserting state and iss came back (RFC 9207).</summary>
    public async Task<string> CodeAsync(Request request, TestUsers.TestUser user)
    {
        var q = Query(await AuthorizeAsync(request, user));
        Assert.That(q.ContainsKey("error"), Is.False, string.Join("&", q));
        return q["code"];
    }

    public static Dictionary<string, string> Query(Uri location) =>
        QueryHelpers.ParseQuery(location.Query).ToDictionary(kv => kv.Key, kv => kv.Value.ToString());

    /// <summary>POST /api/v1/oauth/token with the authorization_code grant for a public client.</summary>
    public Task<HttpResponseMessage> ExchangeRawAsync(string clientId, string code, string redirectUri, string verifier) =>
        App.CreateClient().PostAsync(TokenPath, AuthlyApp.Form(("grant_type", "authorization_code"), ("client_id", clientId),
            ("code", code), ("redirect_uri", redirectUri), ("code_verifier", verifier)));

    public async Task<JsonObject> ExchangeAsync(Request request, string code)
    {
        var response = await ExchangeRawAsync(request.ClientId, code, request.RedirectUri, request.Verifier);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        return JsonNode.Parse(body)!.AsObject();
    }

    /// <summary>Authorize + token: the tokens for <paramref name="request"/>.</summary>
    public async Task<JsonObject> TokensAsync(Request request, TestUsers.TestUser user) => await ExchangeAsync(request, await CodeAsync(request, user));

    public async Task<JsonObject> SessionCheckAsync()
    {
        var response = await Http.GetAsync(SessionCheckPath);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        return await AuthlyApp.JsonAsync(response);
    }

    /// <summary>RFC 7662 introspection (unauthenticated is allowed in the default configuration).</summary>
    public async Task<bool> IsActiveAsync(string token)
    {
        var response = await App.PostFormAsync(IntrospectPath, ("token", token));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        return (await AuthlyApp.JsonAsync(response))["active"]!.GetValue<bool>();
    }

    public async Task<int> ExecuteSqlAsync(string sql, object? args = null)
    {
        await using var db = App.Database();
        await using var conn = await db.OpenConnectionAsync();
        return await conn.ExecuteAsync(sql, args);
    }

    public async Task<T> ScalarAsync<T>(string sql, object? args = null)
    {
        await using var db = App.Database();
        await using var conn = await db.OpenConnectionAsync();
        return await conn.ExecuteScalarAsync<T>(sql, args) ?? throw new AssertionException("no value: " + sql);
    }

    public static AuthenticationHeaderValue Bearer(string token) => new("Bearer", token);

    /// <summary>A public client for the code flow (registration per API.md).</summary>
    public static async Task<string> CreatePublicClientAsync(AuthlyApp app, string[] redirectUris, string scope = "openid profile email address phone offline_access",
        string[]? grants = null, string[]? postLogoutRedirectUris = null, string name = "Test RP")
    {
        var (id, _) = await app.CreateClientAsync(new
        {
            client_name = name, client_type = "public", redirect_uris = redirectUris, scope,
            grant_types = grants ?? ["authorization_code", "refresh_token"],
            post_logout_redirect_uris = postLogoutRedirectUris ?? [],
        });
        return id;
    }

    public void Dispose() => _http?.Dispose();
}
