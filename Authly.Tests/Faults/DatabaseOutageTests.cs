using System.Diagnostics;
using System.Net;
using Authly.Security;
using Authly.Tests.Infrastructure;
using static Authly.Tests.Faults.FaultCluster;

namespace Authly.Tests.Faults;

/// <summary>
/// Issue 12 findings 4 and 8: PostgreSQL unreachable (the proxy cut: connections reset, new ones refused) or hung
/// (the proxy stalled). Every OAuth endpoint answers 503 + Retry-After + temporarily_unavailable (RFC 6749 §5.2),
/// never 500 and never a hang; what needs no database (a valid JWT, a client seen before) keeps working.
/// </summary>
[TestFixture, Category("Faults"), NonParallelizable]
public sealed class DatabaseOutageTests
{
    private const string Redirect = "https://rp.example/cb";
    private FaultCluster _cluster = null!;
    private AuthlyApp _a = null!;
    private readonly ShiftedClock _clock = new(TimeSpan.Zero);
    private string _publicClient = null!;
    private string _deviceClient = null!;
    private (string Id, string Secret) _seenClient;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _cluster = await FaultCluster.StartAsync();
        _a = await _cluster.StartAppAsync(_clock);
        _publicClient = await BrowserFlow.CreatePublicClientAsync(_a, [Redirect]);
        var (device, _) = await _a.CreateClientAsync(new
        {
            client_name = "TV", client_type = "public", scope = "openid", grant_types = new[] { "urn:ietf:params:oauth:grant-type:device_code" },
        });
        _deviceClient = device;
        var (id, secret) = await _a.CreateConfidentialClientAsync("read", ["client_credentials"]);
        _seenClient = (id, secret!);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _cluster.DisposeAsync();

    private Task<(int, System.Text.Json.Nodes.JsonObject, HttpResponseMessage)> ClientCredentialsAsync(HttpClient http) =>
        PostAsync(http, "/api/v1/oauth/token", AuthlyApp.Basic(_seenClient.Id, _seenClient.Secret), ("grant_type", "client_credentials"));

    [Test, Description("Issue 12 finding 4: every OAuth endpoint answers 503 temporarily_unavailable + Retry-After while PostgreSQL is down; stale caches keep the rest working")]
    public async Task EveryOAuthEndpoint_WhilePostgresIsDown_Answers503TemporarilyUnavailable_AndWhatNeedsNoDatabaseKeepsWorking()
    {
        var http = _a.CreateClient();
        http.Timeout = TimeSpan.FromSeconds(20);
        var (ccStatus, _, _) = await ClientCredentialsAsync(http);
        Assert.That(ccStatus, Is.EqualTo(200), "precondition: the client is seen (and cached) before the outage");
        var admin = await SignInAsync(http, AuthlyApp.AdminUsername, AuthlyApp.AdminPassword);
        var access = AuthlyApp.Str(admin, "access_token");
        var refresh = AuthlyApp.Str(admin, "refresh_token");
        Assert.That(await ActiveAsync(http, access), Is.True, "precondition");
        // A signed-in browser: its authorize request needs the session row (without one, the login page needs no database).
        var user = await _a.RegisterUserAsync();
        using var browser = new BrowserFlow(_a);
        await browser.SignInDirectlyAsync(user);

        _cluster.Database.Cut();
        try
        {
            // Past the client cache (60 s) and the key-ring cache (5 min): from here on only stale-on-error serving answers.
            _clock.Advance(TimeSpan.FromMinutes(6));
            var watch = Stopwatch.StartNew();
            var password = await PostAsync(http, "/api/v1/oauth/token", null, ("grant_type", "password"),
                ("username", AuthlyApp.AdminUsername), ("password", AuthlyApp.AdminPassword), ("scope", "account:read"));
            Record($"password grant with PostgreSQL down answered {password.Status}", watch.Elapsed);
            var answers = new List<(string What, (int, System.Text.Json.Nodes.JsonObject, HttpResponseMessage) Answer)>
            {
                ("password grant", password),
                ("refresh_token grant", await RefreshAsync(http, refresh)),
                ("client_credentials of a client never seen", await PostAsync(http, "/api/v1/oauth/token",
                    AuthlyApp.Basic("never-seen-" + OpaqueToken.New(4), "secret-" + OpaqueToken.New(8)), ("grant_type", "client_credentials"))),
                ("authorization_code grant", await PostAsync(http, "/api/v1/oauth/token", null,
                    ("grant_type", "authorization_code"), ("client_id", _publicClient), ("code", OpaqueToken.New(32)),
                    ("redirect_uri", Redirect), ("code_verifier", BrowserFlow.NewVerifier()))),
                ("device_code grant", await PostAsync(http, "/api/v1/oauth/token", null,
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("client_id", _deviceClient), ("device_code", OpaqueToken.New(32)))),
                ("introspection of a refresh token", await PostAsync(http, "/api/v1/oauth/introspect", null, ("token", refresh))),
                // RFC 7009 §2.2.1: 503 is how a server says the revocation did not happen and may be retried; 200 would be a lie.
                ("revocation of a refresh token", await PostAsync(http, "/api/v1/oauth/revoke", null, ("token", refresh), ("token_type_hint", "refresh_token"))),
                ("device_authorization", await PostAsync(http, "/api/v1/oauth/device_authorization", null, ("client_id", _deviceClient), ("scope", "openid"))),
            };
            Record("with PostgreSQL down: " + string.Join(", ", answers.Select(a => $"{a.What} {a.Answer.Item1}")));
            var authorize = await browser.GetAsync(new BrowserFlow.Request(_publicClient, Redirect).Url);
            // A valid JWT needs no database: its key was loaded before, and stays usable past the key-ring cache's lifetime.
            var jwtActive = await PostAsync(http, "/api/v1/oauth/introspect", null, ("token", access));
            // Stale-on-error: the client row is past its cache lifetime (clock moved 6 min) and PostgreSQL cannot be asked.
            var (cc, ccBody, _) = await ClientCredentialsAsync(http);
            Assert.Multiple(() =>
            {
                foreach (var (what, answer) in answers) AssertTemporarilyUnavailable(what, answer);
                Assert.That((int)authorize.StatusCode, Is.EqualTo(503), "authorize page of a signed-in user");
                Assert.That(authorize.Headers.RetryAfter, Is.Not.Null, "authorize page Retry-After");
                Assert.That(authorize.Headers.Location, Is.Null, "an outage is shown, not redirected");
                Assert.That(jwtActive.Status, Is.EqualTo(200), "introspection of a valid access token: " + jwtActive.Body.ToJsonString());
                Assert.That(jwtActive.Body["active"]?.GetValue<bool>(), Is.True, "introspection of a valid access token: " + jwtActive.Body.ToJsonString());
                Assert.That(cc, Is.EqualTo(200), "client_credentials of a client seen before the outage: " + ccBody.ToJsonString());
            });
        }
        finally { _cluster.Database.Restore(); }

        var recovery = Stopwatch.StartNew();
        var recovered = await Eventually.TrueAsync(async () => (await RefreshAsync(http, refresh)).Item1 == 200, TimeSpan.FromSeconds(15));
        Record("PostgreSQL back to the first 200 (refresh)", recovery.Elapsed);
        Assert.That(recovered, Is.True, "no 200 within 15 s of PostgreSQL's return");
    }

    [Test, Description("Issue 12 finding 8: a hung PostgreSQL answers 503 within the command timeout, not after 30 s or never")]
    public async Task TokenRequest_WhilePostgresIsStalled_Answers503_RatherThanHanging()
    {
        var http = _a.CreateClient();
        // The bound of this test, not a timing assert: a request that hangs beyond it is the failure.
        http.Timeout = TimeSpan.FromSeconds(20);
        var admin = await SignInAsync(http, AuthlyApp.AdminUsername, AuthlyApp.AdminPassword);

        _cluster.Database.Stall();
        (int Status, System.Text.Json.Nodes.JsonObject Body, HttpResponseMessage Response) answer;
        var watch = Stopwatch.StartNew();
        try
        {
            try { answer = await RefreshAsync(http, AuthlyApp.Str(admin, "refresh_token")); }
            catch (TaskCanceledException) { Assert.Fail($"the token request hung for {watch.Elapsed.TotalSeconds:0} s on a stalled database"); throw; }
            Record($"refresh with PostgreSQL stalled answered {answer.Status}", watch.Elapsed);
        }
        finally { _cluster.Database.Resume(); }
        AssertTemporarilyUnavailable("refresh on a stalled database", answer);

        var recovery = Stopwatch.StartNew();
        var recovered = await Eventually.TrueAsync(async () => (await ClientCredentialsAsync(http)).Item1 == 200, TimeSpan.FromSeconds(15));
        Record("stalled PostgreSQL resumed to the first 200", recovery.Elapsed);
        Assert.That(recovered, Is.True);
    }
}
