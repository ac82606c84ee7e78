using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Authly.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace Authly.Tests.BadInput;

/// <summary>
/// API.md: bad input gets a clear 4xx, never a 500, and changes nothing. The routes come from the
/// server's own endpoint data source, so a route added later is swept without anyone listing it.
/// Every route is sent, as an anonymous caller, as an admin holding every admin scope and as a
/// signed-in admin browser: missing input, wrong types, repeated parameters, huge values, odd
/// Unicode and invalid UTF-8, in its path, query and body; the tables are compared afterwards.
/// </summary>
[TestFixture, Category("BadInput")]
public sealed class EveryRouteSweepTests : AppFixture
{
    // Lockout and rate limits are out of the way here (they have their own tests); a 429 would also pass, but hide the route.
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["AUTHLY_LOCKOUT_MAX_ATTEMPTS"] = "1000" };

    private string _adminToken = null!;
    private BrowserFlow _browser = null!;

    // The parameter names the routes read (OAuth, OIDC, admin and account APIs); values are hostile.
    private static readonly string[] Names =
    [
        "grant_type", "client_id", "client_secret", "redirect_uri", "response_type", "scope", "state", "nonce", "code",
        "code_verifier", "code_challenge", "code_challenge_method", "token", "token_type_hint", "refresh_token", "username",
        "password", "user_code", "device_code", "id_token_hint", "post_logout_redirect_uri", "prompt", "max_age",
        "return_to", "csrf_token", "approved", "decision", "current_password", "new_password", "limit", "offset", "skip",
        "page", "q", "search", "provider", "sid", "iss", "email", "is_active", "is_admin", "client_name", "redirect_uris",
        "grant_types", "name", "description", "id", "handle",
    ];

    private static readonly string[] HostileValues =
    [
        "' OR 1=1 --", "\"; DROP TABLE users; --", "admin\u0000x", "\u0001\u001b[31m\u007f", "x\r\nSet-Cookie: a=b",
        new string('a', 10_000), "用户🙂Ünïcödé\u202E\uFEFF", "a\u0301\u0301\u0301", "%00%27", "-1", "99999999999999999999",
        "00000000-0000-0000-0000-000000000000", "../../etc/passwd", "   ",
    ];

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _adminToken = await _app.AdminTokenAsync();
        var admin = await _app.CreateUserAsync(isAdmin: true);
        _browser = new BrowserFlow(_app);
        await _browser.SignInDirectlyAsync(new TestUsers.TestUser(admin.Id, admin.Username, admin.Password, admin.Username + "@example.test"));
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _browser.Dispose();
    }

    /// <summary>
    /// Actions that read no input at all, so there is no bad input to give them: sent by a caller who may
    /// perform them, they act. They are swept anonymously only. A new route is not listed here unless it too
    /// takes nothing, which the 4xx test below makes someone decide.
    /// </summary>
    private static readonly HashSet<string> InputlessActions = ["POST /admin/keys/rotate", "POST /api/v1/auth/logout"];

    public sealed record Route(string Method, string Pattern, IReadOnlyList<string> Parameters)
    {
        public override string ToString() => $"{Method} {Pattern}";
    }

    /// <summary>Every (method, route) the server maps, read from its EndpointDataSource.</summary>
    private IReadOnlyList<Route> Routes()
    {
        var source = _app.Services.GetRequiredService<EndpointDataSource>();
        var routes = new List<Route>();
        foreach (var endpoint in source.Endpoints.OfType<RouteEndpoint>())
        {
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["GET", "POST"];
            var parameters = endpoint.RoutePattern.Parameters.Select(p => p.Name).ToList();
            foreach (var method in methods.Where(m => m != "OPTIONS" && m != "HEAD"))
                routes.Add(new Route(method, endpoint.RoutePattern.RawText ?? "/", parameters));
        }
        return routes.DistinctBy(r => r.ToString()).OrderBy(r => r.Pattern, StringComparer.Ordinal).ThenBy(r => r.Method).ToList();
    }

    private static string Fill(Route route, string value)
    {
        var pattern = RoutePatternFactory.Parse(route.Pattern);
        var sb = new StringBuilder();
        foreach (var segment in pattern.PathSegments)
        {
            sb.Append('/');
            foreach (var part in segment.Parts)
                sb.Append(part switch
                {
                    RoutePatternLiteralPart l => l.Content,
                    // A NUL cannot reach a route (the HTTP layer refuses it before routing): the rest of the value can.
                    RoutePatternParameterPart => Uri.EscapeDataString(value.Replace("\0", "")),
                    RoutePatternSeparatorPart s => s.Content,
                    _ => "",
                });
        }
        return sb.Length == 0 ? "/" : sb.ToString();
    }


    private enum Caller { Anonymous, AdminBearer, AdminBrowser }

    private HttpClient ClientFor(Caller caller) => caller switch
    {
        Caller.AdminBearer => _app.BearerClient(_adminToken),
        Caller.AdminBrowser => _browser.Http,
        _ => _app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false }),
    };

    /// <summary>The bad requests for one route: each is a fresh HttpRequestMessage.</summary>
    private static IEnumerable<(string Name, Func<HttpRequestMessage> Make)> BadRequests(Route route)
    {
        var method = new HttpMethod(route.Method);
        var plain = Fill(route, "x");
        var hasBody = route.Method is "POST" or "PUT" or "PATCH" or "DELETE";

        yield return ("missing-input", () => new HttpRequestMessage(method, plain));
        foreach (var (value, i) in HostileValues.Select((v, i) => (v, i)))
        {
            // A huge value in a few parameters finds the same length checks as in all of them, at a fraction of the cost.
            var names = value.Length > 1000 ? Names.Where((_, k) => k % 8 == 0).ToArray() : Names;
            yield return ($"path-and-query-{i}", () => new HttpRequestMessage(method,
                Fill(route, value) + "?" + string.Join("&", names.Select(n => n + "=" + Uri.EscapeDataString(value)))));
            if (hasBody)
                yield return ($"form-{i}", () => new HttpRequestMessage(method, plain)
                {
                    Content = new FormUrlEncodedContent(names.Select(n => new KeyValuePair<string, string>(n, value))),
                });
        }
        yield return ("repeated-query", () => new HttpRequestMessage(method,
            plain + "?" + string.Join("&", Names.SelectMany(n => new[] { n + "=a", n + "=b" }))));
        if (!hasBody) yield break;

        yield return ("repeated-form", () => new HttpRequestMessage(method, plain)
        {
            Content = new FormUrlEncodedContent(Names.SelectMany(n => new[] { new KeyValuePair<string, string>(n, "a"), new KeyValuePair<string, string>(n, "b") })),
        });
        // Wrong JSON types for every name, then JSON that is not an object, broken, deep, or not UTF-8.
        string[] jsonBodies =
        [
            "{" + string.Join(",", Names.Select((n, i) => $"\"{n}\":" + (i % 4) switch { 0 => "12345", 1 => "[1,{\"a\":null}]", 2 => "{\"$ne\":null}", _ => "true" })) + "}",
            "{" + string.Join(",", Names.Select(n => $"\"{n}\":null")) + "}",
            "{" + string.Join(",", Names.Select(n => $"\"{n}\":\"\\ud800\\u0000\"")) + "}",
            "[]", "\"just a string\"", "{", "{\"a\":" + new string('[', 5000) + new string(']', 5000) + "}", "null",
        ];
        foreach (var (body, i) in jsonBodies.Select((b, i) => (b, i)))
            yield return ($"json-{i}", () => new HttpRequestMessage(method, plain) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
        yield return ("invalid-utf8-json", () => new HttpRequestMessage(method, plain)
        {
            Content = new ByteArrayContent([(byte)'{', (byte)'"', 0xC0, 0xAF, 0xFF, (byte)'"', (byte)':', (byte)'1', (byte)'}'])
            { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        });
        yield return ("invalid-utf8-form", () => new HttpRequestMessage(method, plain)
        {
            Content = new ByteArrayContent([.. "username="u8, 0xC0, 0xAF, 0xFF, .. "&password=%FF%FE"u8])
            { Headers = { ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded") } },
        });
        yield return ("huge-form", () => new HttpRequestMessage(method, plain)
        {
            Content = new StringContent("username=" + new string('a', 1024 * 1024 + 10), Encoding.ASCII, "application/x-www-form-urlencoded"),
        });
        yield return ("wrong-media-type", () => new HttpRequestMessage(method, plain) { Content = new StringContent("<x/>", Encoding.UTF8, "application/xml") });
    }

    [Test, Description("API.md: every route, every caller, every kind of bad input: never a 5xx, and no row changed")]
    public async Task EveryRoute_WithBadInput_NeverAnswers5xx_AndChangesNothing()
    {
        var routes = Routes();
        Assert.That(routes, Has.Count.GreaterThan(30), "the endpoint data source should list the server's routes");
        var failures = new List<string>();
        foreach (var caller in Enum.GetValues<Caller>())
        {
            var http = ClientFor(caller);
            foreach (var route in routes.Where(r => caller == Caller.Anonymous || !InputlessActions.Contains(r.ToString())))
            {
                var before = await _app.StateSnapshotAsync();
                foreach (var (name, make) in BadRequests(route))
                {
                    using var request = make();
                    using var response = await http.SendAsync(request);
                    if ((int)response.StatusCode >= 500)
                        failures.Add($"{caller} {route} [{name}] → {(int)response.StatusCode} {Truncate(await response.Content.ReadAsStringAsync())}");
                }
                var after = await _app.StateSnapshotAsync();
                if (after != before) failures.Add($"{caller} {route}: bad input changed the database\n  before {before}\n  after  {after}");
            }
        }
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
        // The signed-in callers stayed signed in throughout, so the sweep reached what lies behind sign-in.
        Assert.That((await _browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True, "the admin browser was signed out by the sweep");
        Assert.That((await _app.BearerClient(_adminToken).GetAsync("/admin/clients")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the admin token stopped working");
    }

    // Markup that would run if a page echoed it unescaped, in an attribute or in text.
    private const string Markup = "\"'><svg onload=alert(13)>";

    /// <summary>Markup as parameter values and as parameter names (a page that names a repeated parameter echoes the name).</summary>
    private static IEnumerable<(string Name, Func<HttpRequestMessage> Make)> MarkupRequests(Route route)
    {
        var method = new HttpMethod(route.Method);
        var plain = Fill(route, "x");
        var values = string.Join("&", Names.Select(n => n + "=" + Uri.EscapeDataString(Markup)));
        var name = Uri.EscapeDataString(Markup);
        yield return ("markup-values", () => new HttpRequestMessage(method, Fill(route, Markup) + "?" + values));
        yield return ("markup-repeated-name", () => new HttpRequestMessage(method, plain + $"?{name}=a&{name}=b"));
        if (route.Method is not ("POST" or "PUT" or "PATCH" or "DELETE")) yield break;
        yield return ("markup-form", () => new HttpRequestMessage(method, plain)
        {
            Content = new FormUrlEncodedContent(Names.Select(n => new KeyValuePair<string, string>(n, Markup))
                .Append(new KeyValuePair<string, string>(Markup, "a"))),
        });
        yield return ("markup-repeated-form-name", () => new HttpRequestMessage(method, plain)
        {
            Content = new StringContent($"{name}=a&{name}=b", Encoding.ASCII, "application/x-www-form-urlencoded"),
        });
    }

    [Test, Description("Issue13 review (PageErrors and the pages' refusals): every route, every caller: markup in parameter names and values is never echoed unescaped in a page or a header")]
    public async Task EveryRoute_WithMarkupInNamesAndValues_NeverEchoesItUnescaped()
    {
        var failures = new List<string>();
        foreach (var caller in Enum.GetValues<Caller>())
        {
            var http = ClientFor(caller);
            foreach (var route in Routes().Where(r => caller == Caller.Anonymous || !InputlessActions.Contains(r.ToString())))
                foreach (var (name, make) in MarkupRequests(route))
                {
                    using var request = make();
                    using var response = await http.SendAsync(request);
                    var body = await response.Content.ReadAsStringAsync();
                    var headers = string.Join("\n", response.Headers.Concat(response.Content.Headers).Select(h => h.Key + ": " + string.Join(",", h.Value)));
                    // JSON may carry the text as it came (application/json with nosniff is never rendered); markup is a page's or a header's danger.
                    var page = response.Content.Headers.ContentType?.MediaType is not ("application/json" or "application/problem+json");
                    if ((page && body.Contains("<svg", StringComparison.OrdinalIgnoreCase)) || headers.Contains("<svg", StringComparison.OrdinalIgnoreCase))
                        failures.Add($"{caller} {route} [{name}] → {(int)response.StatusCode} {Truncate(body)}");
                }
        }
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    [Test, Description("API.md: a mutating route given only bad input refuses it with a 4xx (or sends the browser to log in), never a 2xx")]
    public async Task EveryMutatingRoute_WithWrongTypedJson_IsRefusedWith4xx()
    {
        var failures = new List<string>();
        foreach (var route in Routes().Where(r => r.Method is "POST" or "PUT" or "PATCH" or "DELETE" && !InputlessActions.Contains(r.ToString())))
            foreach (var caller in new[] { Caller.Anonymous, Caller.AdminBearer })
            {
                var (name, make) = BadRequests(route).First(r => r.Name == "json-0");
                using var request = make();
                using var response = await ClientFor(caller).SendAsync(request);
                var status = (int)response.StatusCode;
                if (status is < 300 or >= 500)
                    failures.Add($"{caller} {route} [{name}] → {status} {Truncate(await response.Content.ReadAsStringAsync())}");
            }
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    private static string Truncate(string s) => s.Length > 300 ? s[..300] + "…" : s;
}
