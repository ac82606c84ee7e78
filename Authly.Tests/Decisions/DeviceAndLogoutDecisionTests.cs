using Authly.Authorization;
using Authly.Clients;
using Authly.OAuth;
using Authly.Oidc;
using Authly.Tests.Infrastructure;
using Authly.Users;
using Microsoft.Extensions.DependencyInjection;

namespace Authly.Tests.Decisions;

/// <summary>
/// The /device approval (RFC 8628 §3.3) and sign-out (RP-Initiated Logout 1.0 §2, Front-Channel Logout 1.0 §2)
/// decisions, one row per case, driven through <see cref="DeviceApproval"/> and <see cref="LogoutFlow"/> directly
/// against the real stores. Rfc8628, OidcLogout and Sessions show that the pages render each decision.
/// </summary>
[TestFixture, Category("OIDC")]
public sealed class DeviceAndLogoutDecisionTests
{
    private const string PostLogout = "https://rp.example/signed-out";
    private AuthlyApp _app = null!;
    private Client _device = null!;
    private string _rp = null!;
    private string _otherRp = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _app = await AuthlyApp.StartAsync();
        var (id, _) = await _app.CreateClientAsync(new
        {
            client_name = "TV app", client_type = "public", scope = "openid profile", grant_types = new[] { GrantTypes.DeviceCode },
        });
        _device = await Get<ClientStore>().FindActiveAsync(id, CancellationToken.None) ?? throw new AssertionException("no device client");
        _rp = await BrowserFlow.CreatePublicClientAsync(_app, ["https://rp.example/cb"], postLogoutRedirectUris: [PostLogout]);
        _otherRp = await BrowserFlow.CreatePublicClientAsync(_app, ["https://other.example/cb"], postLogoutRedirectUris: ["https://other.example/out"]);
    }

    [OneTimeTearDown] public void Stop() => _app.Dispose();

    private T Get<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    private async Task<User> UserAsync()
    {
        var created = await _app.CreateUserAsync();
        return await Get<UserStore>().FindByIdAsync(created.Id, CancellationToken.None) ?? throw new AssertionException("no user");
    }

    /// <summary>A session reader that must not be called: the decision was made before the session mattered.</summary>
    private static Task<T?> NotRead<T>(CancellationToken _) where T : class => throw new AssertionException("the session was read");

    // ---- Device approval -------------------------------------------------------------------------

    public enum Who { Nobody, TheUser, AnotherSession }
    public enum Code { None, Live, Unknown, Malformed }

    public sealed record DeviceCase(string Name, string Page, Who Who, Type Step, Code Code = Code.Live, bool Genuine = true, bool Approve = true,
        bool DecidedBefore = false)
    {
        public override string ToString() => Name;
    }

    private static IEnumerable<TestCaseData> DeviceCases() => new DeviceCase[]
    {
        new("GET without a session → sign in, resuming the code", "show", Who.Nobody, typeof(DeviceApproval.SignIn)),
        new("GET without a code → code entry form", "show", Who.TheUser, typeof(DeviceApproval.EnterCode), Code.None),
        new("RFC 8628 §3.3: GET with a live code → confirmation naming the client and scopes", "show", Who.TheUser, typeof(DeviceApproval.Confirm)),
        new("GET with an unknown code → not valid", "show", Who.TheUser, typeof(DeviceApproval.UnknownCode), Code.Unknown),
        new("GET with a malformed code → not valid, like an unknown one", "show", Who.TheUser, typeof(DeviceApproval.UnknownCode), Code.Malformed),
        new("POST a live code → confirmation", "enter", Who.TheUser, typeof(DeviceApproval.Confirm)),
        new("POST a code without a valid CSRF token → form expired, nothing looked up", "enter", Who.TheUser, typeof(DeviceApproval.FormExpired),
            Genuine: false),
        new("POST a code without a session → sign in", "enter", Who.Nobody, typeof(DeviceApproval.SignIn)),
        new("RFC 8628 §3.3: approve → decided, approved", "decide", Who.TheUser, typeof(DeviceApproval.Decided)),
        new("deny → decided, denied", "decide", Who.TheUser, typeof(DeviceApproval.Decided), Approve: false),
        new("a decision without a valid CSRF token → form expired, nothing decided", "decide", Who.TheUser, typeof(DeviceApproval.FormExpired),
            Genuine: false),
        new("a decision without a session → sign in, nothing decided", "decide", Who.Nobody, typeof(DeviceApproval.SignIn)),
        new("a handle shown to another session → not waiting, nothing decided", "decide", Who.AnotherSession, typeof(DeviceApproval.NotWaiting)),
        new("a request decided before → not waiting", "decide", Who.TheUser, typeof(DeviceApproval.NotWaiting), DecidedBefore: true),
    }.Select(c => new TestCaseData(c).SetName("Device: " + c.Name));

    [TestCaseSource(nameof(DeviceCases))]
    public async Task DeviceDecision(DeviceCase c)
    {
        var approval = Get<DeviceApproval>();
        var started = await Get<DeviceAuthorization>().StartAsync(_device, "openid profile", CancellationToken.None);
        var user = await UserAsync();
        var session = new DeviceApproval.SignedIn(user, DateTime.UtcNow, "sid-" + Guid.NewGuid().ToString("N"), "192.0.2.7", Authly.Mfa.AuthenticationMethods.AfterPassword);
        var who = c.Who == Who.Nobody ? null : session;
        var userCode = c.Code switch { Code.None => null, Code.Unknown => "BCDF-GHJK", Code.Malformed => "AEIO-U123", _ => started.UserCode };

        DeviceApproval.Step step;
        switch (c.Page)
        {
            case "show": step = await approval.ShowAsync(who, userCode, CancellationToken.None); break;
            case "enter":
                step = await approval.EnterAsync(c.Genuine ? _ => Task.FromResult(who) : NotRead<DeviceApproval.SignedIn>, c.Genuine, userCode,
                    CancellationToken.None);
                break;
            default:
                // The handle comes from the page shown to this user's session.
                var shown = (DeviceApproval.Confirm)await approval.ShowAsync(session, started.UserCode, CancellationToken.None);
                if (c.DecidedBefore) await approval.DecideAsync(_ => Task.FromResult<DeviceApproval.SignedIn?>(session), true, shown.Handle, false, CancellationToken.None);
                var decider = c.Who == Who.AnotherSession ? session with { Sid = "sid-other" } : who;
                step = await approval.DecideAsync(c.Genuine ? _ => Task.FromResult(decider) : NotRead<DeviceApproval.SignedIn>, c.Genuine, shown.Handle,
                    c.Approve, CancellationToken.None);
                break;
        }

        Assert.That(step, Is.TypeOf(c.Step), step.ToString());
        var status = await _app.SqlScalarAsync<string>("SELECT status FROM device_codes WHERE user_code = @Code",
            new { Code = DeviceAuthorization.Normalize(started.UserCode) });
        switch (step)
        {
            case DeviceApproval.SignIn signIn:
                Assert.That(signIn.UserCode, Is.EqualTo(c.Page == "show" ? userCode : null), "GET resumes the code the link carried; a POST does not");
                break;
            case DeviceApproval.Confirm confirm:
                Assert.That(confirm.ClientName, Is.EqualTo("TV app"));
                Assert.That(confirm.Username, Is.EqualTo(user.Username));
                Assert.That(confirm.Scopes, Is.EquivalentTo(new[] { "openid", "profile" }));
                Assert.That(confirm.UserCode, Is.EqualTo(started.UserCode));
                Assert.That(confirm.Handle, Does.Not.Contain(DeviceAuthorization.Normalize(started.UserCode)), "the handle is not the user code");
                break;
            case DeviceApproval.UnknownCode unknown:
                Assert.That(unknown.UserCode, Is.EqualTo(userCode));
                break;
            case DeviceApproval.Decided decided:
                Assert.That(decided.Approved, Is.EqualTo(c.Approve));
                Assert.That(status, Is.EqualTo(c.Approve ? "approved" : "denied"));
                return;
        }
        Assert.That(status, Is.EqualTo(c.DecidedBefore ? "denied" : "pending"), "nothing else decides the request");
    }

    // ---- Logout ------------------------------------------------------------------------------------

    public enum Hint { None, ThisUser, OtherUser, Forged }

    public sealed record LogoutCase(string Name, Hint Hint, bool SignedIn, bool Confirmed, Type Decision, bool EndsSession = false,
        string? RedirectTo = null, string? Message = null, params (string Key, string Value)[] Extra)
    {
        public override string ToString() => Name;
    }

    private static IEnumerable<TestCaseData> LogoutCases() => new LogoutCase[]
    {
        new("RP-Initiated Logout §2: no hint, signed in, not confirmed → ask", Hint.None, true, false, typeof(LogoutFlow.Ask)),
        new("no hint, confirmed by the CSRF-protected POST → sign out", Hint.None, true, true, typeof(LogoutFlow.SignOut), EndsSession: true),
        new("a hint for the signed-in user → sign out without asking", Hint.ThisUser, true, false, typeof(LogoutFlow.SignOut), EndsSession: true),
        new("issue #11 finding 6: a hint for another user → ask, never end on the hint", Hint.OtherUser, true, false, typeof(LogoutFlow.Ask)),
        new("a valid hint, nobody signed in → nothing to end, nothing to ask", Hint.ThisUser, false, false, typeof(LogoutFlow.SignOut)),
        new("a forged hint → refused", Hint.Forged, true, true, typeof(LogoutFlow.Refused),
            Message: "The id_token_hint is not a valid ID token of this server."),
        new("a registered post_logout_redirect_uri → redirect there with state", Hint.ThisUser, true, false, typeof(LogoutFlow.SignOut),
            EndsSession: true, RedirectTo: PostLogout, Extra: [("post_logout_redirect_uri", PostLogout), ("state", "s1")]),
        new("an unregistered post_logout_redirect_uri → refused, never redirected", Hint.ThisUser, true, true, typeof(LogoutFlow.Refused),
            Message: "The post_logout_redirect_uri is not registered for this client.",
            Extra: [("post_logout_redirect_uri", "https://attacker.example/")]),
        new("a post_logout_redirect_uri without a client → refused", Hint.None, true, true, typeof(LogoutFlow.Refused),
            Message: "The post_logout_redirect_uri is not registered for this client.", Extra: [("post_logout_redirect_uri", PostLogout)]),
        new("client_id naming another client than the hint → refused", Hint.ThisUser, true, true, typeof(LogoutFlow.Refused),
            Message: "client_id does not match the id_token_hint.", Extra: [("client_id", "OTHER")]),
    }.Select(c => new TestCaseData(c).SetName("Logout: " + c.Name));

    [TestCaseSource(nameof(LogoutCases))]
    public async Task LogoutDecision(LogoutCase c)
    {
        var user = await UserAsync();
        var other = await UserAsync();
        var p = new Dictionary<string, string>(StringComparer.Ordinal);
        if (c.Hint is Hint.ThisUser or Hint.OtherUser)
            p["id_token_hint"] = await Get<IdTokenIssuer>().CreateAsync(c.Hint == Hint.ThisUser ? user : other, _rp, new HashSet<string> { "openid" },
                null, DateTime.UtcNow, "sid-hint", null, CancellationToken.None);
        if (c.Hint == Hint.Forged) p["id_token_hint"] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
        foreach (var (key, value) in c.Extra) p[key] = value == "OTHER" ? _otherRp : value;
        var session = c.SignedIn ? new LogoutFlow.SignedIn(user.Id, "sid-" + Guid.NewGuid().ToString("N")) : null;

        var decision = await Get<LogoutFlow>().DecideAsync(p, _ => Task.FromResult(session), c.Confirmed, CancellationToken.None);

        Assert.That(decision, Is.TypeOf(c.Decision), decision.ToString());
        switch (decision)
        {
            case LogoutFlow.Refused refused:
                Assert.That(refused.Message, Is.EqualTo(c.Message));
                Assert.That(refused.PostLogoutRedirectUri, Is.Null, "a refused sign-out never redirects");
                break;
            case LogoutFlow.Ask ask:
                Assert.That(ask.Fields.Select(f => f.Key), Is.SubsetOf(new[] { "post_logout_redirect_uri", "state", "client_id", "id_token_hint" }));
                break;
            case LogoutFlow.SignOut signOut:
                Assert.That(signOut.EndSession, Is.EqualTo(c.EndsSession));
                Assert.That(signOut.PostLogoutRedirectUri, Is.EqualTo(c.RedirectTo));
                if (c.RedirectTo is not null) Assert.That(signOut.State, Is.EqualTo("s1"));
                break;
        }
    }

    public sealed record FrontChannelCase(string Name, string? Iss, string? Sid, string? CurrentSid, Type Decision, bool EndsSession = false)
    {
        public override string ToString() => Name;
    }

    private static IEnumerable<TestCaseData> FrontChannelCases() => new FrontChannelCase[]
    {
        new("Front-Channel Logout §2: sid names this browser's session → it ends", AuthlyApp.Issuer, "sid-1", "sid-1", typeof(LogoutFlow.SignOut), true),
        new("sid names another session → nothing ends", AuthlyApp.Issuer, "sid-2", "sid-1", typeof(LogoutFlow.SignOut)),
        new("no session in this browser → nothing ends", null, "sid-1", null, typeof(LogoutFlow.SignOut)),
        new("RP-Initiated Logout §6: no sid → refused", AuthlyApp.Issuer, null, "sid-1", typeof(LogoutFlow.Refused)),
        new("iss of another issuer → refused", "https://other.example", "sid-1", "sid-1", typeof(LogoutFlow.Refused)),
    }.Select(c => new TestCaseData(c).SetName("FrontChannel: " + c.Name));

    [TestCaseSource(nameof(FrontChannelCases))]
    public async Task FrontChannelDecision(FrontChannelCase c)
    {
        Func<CancellationToken, Task<string?>> current = c.Decision == typeof(LogoutFlow.Refused) ? NotRead<string> : _ => Task.FromResult(c.CurrentSid);
        var decision = await LogoutFlow.FrontChannelAsync(c.Iss, c.Sid, AuthlyApp.Issuer, current, CancellationToken.None);
        Assert.That(decision, Is.TypeOf(c.Decision), decision.ToString());
        if (decision is LogoutFlow.SignOut signOut)
            Assert.That(signOut.EndSession, Is.EqualTo(c.EndsSession));
    }
}
