using System.Diagnostics;
using System.Net;
using System.Text;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 15: spans leave the process (OTLP to a collector, then to whoever reads traces). Someone who can read the
/// traces must not find a credential in them: not the password of a login, the client secret, the authorization
/// code, the PKCE verifier, or an access, refresh or ID token, in any span name, attribute, event or status.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class TracingAttacks : AppFixture
{
    private SpanRecorder _spans = null!;

    [OneTimeSetUp]
    public void StartRecording() => _spans = new SpanRecorder();

    [OneTimeTearDown]
    public void StopRecording() => _spans.Dispose();

    private static IEnumerable<string> Texts(Activity span)
    {
        yield return span.DisplayName;
        yield return span.OperationName;
        if (span.StatusDescription is { } status) yield return status;
        foreach (var (key, value) in span.EnumerateTagObjects()) yield return key + "=" + value;
        foreach (var e in span.Events)
        {
            yield return e.Name;
            foreach (var (key, value) in e.EnumerateTagObjects()) yield return key + "=" + value;
        }
        foreach (var (key, value) in span.Baggage) yield return key + "=" + value;
    }

    [Test, Description("Issue15_OpenTelemetry: password login + code + token + refresh + introspection traced: no credential in any span")]
    public async Task Issue15_Traces_OfLoginTokenAndIntrospection_CarryNoPasswordSecretCodeOrToken()
    {
        var (traceParent, traceId, _) = SpanRecorder.NewTrace();
        var user = await _app.RegisterUserAsync();
        var (id, secret) = await _app.CreateConfidentialClientAsync(grants: ["password", "refresh_token", "client_credentials"]);
        var basic = AuthlyApp.Basic(id, secret!);
        var api = _app.CreateClient();
        api.DefaultRequestHeaders.Add("traceparent", traceParent);

        // The password grant, with the client's secret in Basic.
        var passwordGrant = new HttpRequestMessage(HttpMethod.Post, "/api/v1/oauth/token")
        {
            Content = AuthlyApp.Form(("grant_type", "password"), ("username", user.Username), ("password", user.Password), ("scope", "read")),
        };
        passwordGrant.Headers.Authorization = basic;
        var tokens = await AuthlyApp.JsonAsync(await api.SendAsync(passwordGrant));
        var access = AuthlyApp.Str(tokens, "access_token");
        var refresh = AuthlyApp.Str(tokens, "refresh_token");

        // The login page and the authorization code flow (PKCE), then the code redeemed.
        var clientId = await BrowserFlow.CreatePublicClientAsync(_app, ["https://rp.example/cb"]);
        using var browser = new BrowserFlow(_app);
        browser.Http.DefaultRequestHeaders.Add("traceparent", traceParent);
        var request = new BrowserFlow.Request(clientId, "https://rp.example/cb", "openid profile offline_access");
        var code = await browser.CodeAsync(request, user);
        var exchangeRequest = new HttpRequestMessage(HttpMethod.Post, "/api/v1/oauth/token")
        {
            Content = AuthlyApp.Form(("grant_type", "authorization_code"), ("client_id", clientId), ("code", code),
                ("redirect_uri", request.RedirectUri), ("code_verifier", request.Verifier!)),
        };
        var exchanged = await AuthlyApp.JsonAsync(await api.SendAsync(exchangeRequest));
        var idToken = AuthlyApp.Str(exchanged, "id_token");
        var codeAccess = AuthlyApp.Str(exchanged, "access_token");

        // Refresh rotation and introspection of every token, authenticated with the secret.
        var rotate = new HttpRequestMessage(HttpMethod.Post, "/api/v1/oauth/token") { Content = AuthlyApp.Form(("grant_type", "refresh_token"), ("refresh_token", refresh)) };
        rotate.Headers.Authorization = basic;
        var rotated = AuthlyApp.Str(await AuthlyApp.JsonAsync(await api.SendAsync(rotate)), "refresh_token");
        foreach (var token in new[] { access, rotated, codeAccess })
        {
            var introspect = new HttpRequestMessage(HttpMethod.Post, "/api/v1/oauth/introspect") { Content = AuthlyApp.Form(("token", token)) };
            introspect.Headers.Authorization = basic;
            Assert.That(await (await api.SendAsync(introspect)).Content.ReadAsStringAsync(), Does.Contain("\"active\":true"));
        }

        var spans = await _spans.SpansAsync(traceId, s => s.Count(a => a.DisplayName == "introspect") == 3
            && s.Any(a => a.DisplayName == "token authorization_code") && s.Any(a => a.DisplayName == "token refresh_token"));
        Assert.That(spans.Count(a => a.DisplayName == "introspect"), Is.EqualTo(3), "the scenario was traced");
        Assert.That(spans.Any(a => a.DisplayName == "authorize"), Is.True);
        Assert.That(spans.Any(a => a.Source.Name == "Npgsql"), Is.True, "database spans are part of what is checked");

        var credentials = new Dictionary<string, string>
        {
            ["password"] = user.Password, ["client secret"] = secret!,
            ["Basic credentials"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{id}:{secret}")),
            ["authorization code"] = code, ["PKCE verifier"] = request.Verifier,
            ["access token"] = access, ["access token signature"] = access[(access.LastIndexOf('.') + 1)..],
            ["refresh token"] = refresh, ["rotated refresh token"] = rotated, ["ID token"] = idToken, ["code's access token"] = codeAccess,
        };
        foreach (var span in spans)
            foreach (var text in Texts(span))
                foreach (var (what, value) in credentials)
                    Assert.That(text.Contains(value, StringComparison.Ordinal), Is.False, $"the {what} is in span '{span.DisplayName}' ({span.Source.Name}): {text}");
    }
}
