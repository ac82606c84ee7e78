using System.Net;
using System.Security.Cryptography;
using Authly.Authorization;
using Authly.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Authly.Tests.Attacks;

/// <summary>
/// Device flow attacks (RFC 8628 §5.1 user code brute forcing, §6.1 user code entropy; RFC 9700
/// §4 on the authorization server as the target of guessing). The attacker is a signed-in user of
/// this server who guesses other people's user codes on the verification pages, or who posts an
/// approval for a code whose page was never shown. Every lookup of a user code, whichever page
/// it comes through, is one attempt in one budget, per account and per IP; past it, 429 with
/// Retry-After. The approval form carries a server-sealed handle of the code it showed, bound to
/// the session, never the raw user code.
/// </summary>
[TestFixture, Category("Attacks"), Category("RFC8628")]
public sealed class DeviceFlowAttacks : AppFixture
{
    // The shipped general rate limit, so the old per-page limit on POST /device is in force too.
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["RATE_LIMIT_MAX_REQUESTS"] = "100", ["RATE_LIMIT_WINDOW_SECONDS"] = "60" };

    private const string DeviceGrant = "urn:ietf:params:oauth:grant-type:device_code";
    private const int PerAccount = UserCodeAttempts.PerAccount;
    private const int PerAddress = UserCodeAttempts.PerAddress;
    private const string Alphabet = DeviceAuthorization.UserCodeAlphabet;
    private static int _nextAddress;

    private WebApplicationFactory<Program> _peers = null!;
    private string _clientId = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _peers = _app.WithPeerAddressHeader();
        (_clientId, _) = await _app.CreateClientAsync(new
        {
            client_name = "TV app", client_type = "public", scope = "openid profile", grant_types = new[] { DeviceGrant },
        });
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _peers.Dispose();
    }

    /// <summary>A fresh address per call (198.18.0.0/15, the benchmarking range), so tests never share a per-IP counter.</summary>
    private static string NewAddress()
    {
        var n = Interlocked.Increment(ref _nextAddress);
        return $"198.18.{n / 250}.{n % 250 + 1}";
    }

    private static string RandomUserCode() =>
        new string(Enumerable.Range(0, 8).Select(_ => Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)]).ToArray()).Insert(4, "-");

    private async Task<(string UserCode, string DeviceCode)> StartDeviceAsync()
    {
        var body = await AuthlyApp.JsonAsync(await _app.PostFormAsync("/api/v1/oauth/device_authorization", ("client_id", _clientId), ("scope", "openid")));
        return (AuthlyApp.Str(body, "user_code"), AuthlyApp.Str(body, "device_code"));
    }

    private async Task<string> StatusAsync(string userCode) =>
        await _app.SqlScalarAsync<string>("SELECT status FROM device_codes WHERE user_code = @Code", new { Code = userCode.Replace("-", "") });

    /// <summary>RFC 8628 §3.5: what the device sees when it polls.</summary>
    private async Task<string?> PollErrorAsync(string deviceCode)
    {
        var response = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", DeviceGrant), ("device_code", deviceCode), ("client_id", _clientId));
        return (await AuthlyApp.JsonAsync(response))["error"]?.GetValue<string>();
    }

    private async Task AssertStillPendingAsync(string userCode, string deviceCode)
    {
        Assert.That(await StatusAsync(userCode), Is.EqualTo("pending"), "the code was decided");
        Assert.That(await PollErrorAsync(deviceCode), Is.EqualTo("authorization_pending"), "the device got an answer");
    }

    /// <summary>A browser with its own cookies whose requests come from a chosen IP (TestPeerAddress).</summary>
    private sealed class Browser(HttpClient http) : IDisposable
    {
        public string Address { get; set; } = NewAddress();

        public async Task<HttpResponseMessage> GetAsync(string url, string? from = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Add(TestPeerAddress.Header, from ?? Address);
            return await http.SendAsync(request);
        }

        public async Task<HttpResponseMessage> PostAsync(string path, IEnumerable<KeyValuePair<string, string>> fields, string? from = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(fields) };
            request.Headers.Add(TestPeerAddress.Header, from ?? Address);
            return await http.SendAsync(request);
        }

        public async Task SignInAsync(TestUsers.TestUser user)
        {
            var login = await BrowserFlow.HtmlAsync(await GetAsync("/login?return_to=%2Fdevice"));
            var fields = BrowserFlow.HiddenFields(login);
            fields["username"] = user.Username;
            fields["password"] = user.Password;
            var posted = await PostAsync("/login", fields);
            Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await posted.Content.ReadAsStringAsync());
        }

        /// <summary>The CSRF token of the code entry page (showing it looks up no code).</summary>
        public async Task<string> CsrfAsync() =>
            BrowserFlow.HiddenFields(await BrowserFlow.HtmlAsync(await GetAsync("/device")))["csrf_token"];

        public void Dispose() => http.Dispose();
    }

    private Browser NewBrowser() =>
        new(_peers.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true }));

    private async Task<Browser> SignedInBrowserAsync(TestUsers.TestUser? user = null)
    {
        var browser = NewBrowser();
        await browser.SignInAsync(user ?? await _app.RegisterUserAsync());
        return browser;
    }

    private static bool IsConfirmPage(string html) => html.Contains("action=\"/device/confirm\"", StringComparison.Ordinal);

    private static async Task AssertLimitedAsync(HttpResponseMessage response, string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), $"{what}: {body}");
        Assert.That(response.Headers.RetryAfter?.Delta?.TotalSeconds, Is.GreaterThan(0), $"{what}: Retry-After");
        Assert.That(IsConfirmPage(body), Is.False, $"{what}: a confirmation page after the limit");
        Assert.That(body, Does.Not.Contain("Device connected"), what);
    }

    /// <summary>One guess through each of the three pages that resolve a user code, in turn.</summary>
    private static Task<HttpResponseMessage> GuessAsync(Browser browser, string csrf, int route, string? from = null) => (route % 3) switch
    {
        0 => browser.GetAsync("/device?user_code=" + RandomUserCode(), from),
        1 => browser.PostAsync("/device", new Dictionary<string, string> { ["csrf_token"] = csrf, ["user_code"] = RandomUserCode() }, from),
        _ => browser.PostAsync("/device/confirm", new Dictionary<string, string>
        {
            ["csrf_token"] = csrf, ["user_code"] = RandomUserCode(), ["approved"] = "true",
        }, from),
    };

    [Test, Description("RFC 8628 §5.1: user code guesses through GET /device, POST /device and POST /device/confirm count against one budget; past it, 429 + Retry-After on all three")]
    public async Task UserCodeGuessing_AcrossTheThreeVerificationRoutes_SharesOneBucketAndEndsIn429()
    {
        using var browser = await SignedInBrowserAsync();
        var csrf = await browser.CsrfAsync();
        var served = 0;
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 130 && limited is null; i++)
        {
            var response = await GuessAsync(browser, csrf, i);
            if (response.StatusCode == HttpStatusCode.TooManyRequests) limited = response;
            else served++;
        }
        Assert.That(limited, Is.Not.Null, $"130 guesses across the three routes, {served} answered, none refused with 429");
        Assert.That(served, Is.LessThanOrEqualTo(PerAccount), "guesses answered before the limit");
        await AssertLimitedAsync(limited!, "the guess over the limit");
        for (var route = 0; route < 3; route++)
            await AssertLimitedAsync(await GuessAsync(browser, csrf, route), $"route {route} after the limit");

        // The budget is spent for real codes too: a live code typed now is not looked up.
        var (userCode, deviceCode) = await StartDeviceAsync();
        await AssertLimitedAsync(await browser.GetAsync("/device?user_code=" + userCode), "a live code after the limit");
        await AssertStillPendingAsync(userCode, deviceCode);
    }

    [Test, Description("RFC 8628 §5.1: one signed-in session guessing from many IPs is still limited (the budget is the account's, not the address's)")]
    public async Task UserCodeGuessing_FromOneSessionAcrossManyIps_IsLimitedPerSession()
    {
        using var browser = await SignedInBrowserAsync();
        var served = 0;
        for (var i = 0; i < 60; i++)
        {
            var response = await browser.GetAsync("/device?user_code=" + RandomUserCode(), from: NewAddress());
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await AssertLimitedAsync(response, $"guess {i + 1}");
                break;
            }
            served++;
        }
        Assert.That(served, Is.LessThanOrEqualTo(PerAccount), "guesses answered from one session spread over 60 addresses");
    }

    [Test, Description("RFC 8628 §5.1: signing in again (a new session of the same account) does not reset the budget")]
    public async Task UserCodeGuessing_WithFreshSessionsOfOneAccount_DoesNotResetTheLimit()
    {
        var user = await _app.RegisterUserAsync();
        var served = 0;
        for (var session = 0; session < 6 && served <= PerAccount; session++)
        {
            using var browser = await SignedInBrowserAsync(user);
            for (var i = 0; i < 5; i++)
                if ((await browser.GetAsync("/device?user_code=" + RandomUserCode())).StatusCode != HttpStatusCode.TooManyRequests) served++;
        }
        Assert.That(served, Is.LessThanOrEqualTo(PerAccount), "guesses answered across 6 sessions of one account");
    }

    [Test, Description("RFC 8628 §5.1: many sessions (many accounts) guessing from one IP are limited per IP")]
    public async Task UserCodeGuessing_FromOneIpAcrossManySessions_IsLimitedPerIp()
    {
        var address = NewAddress();
        var served = 0;
        var refused = 0;
        for (var session = 0; session < 8; session++)
        {
            using var browser = NewBrowser();
            browser.Address = address;
            await browser.SignInAsync(await _app.RegisterUserAsync());
            // Each session stays under its own budget; only the address's can stop them.
            for (var i = 0; i < PerAccount / 2; i++)
            {
                var response = await browser.GetAsync("/device?user_code=" + RandomUserCode());
                if (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    await AssertLimitedAsync(response, $"session {session}, guess {i + 1}");
                    refused++;
                }
                else served++;
            }
        }
        Assert.Multiple(() =>
        {
            Assert.That(served, Is.LessThanOrEqualTo(PerAddress), "guesses answered from one address");
            Assert.That(refused, Is.GreaterThan(0), "no 429 from one address for 8 sessions × 5 guesses");
        });
    }

    [Test, Description("RFC 8628 §5.1: a parallel burst cannot slip past the limit (each attempt is counted before the lookup, atomically)")]
    public async Task UserCodeGuessing_InParallelBurst_CannotExceedTheLimit()
    {
        using var browser = await SignedInBrowserAsync();
        var csrf = await browser.CsrfAsync();
        var responses = await Task.WhenAll(Enumerable.Range(0, 45).Select(i => GuessAsync(browser, csrf, i)));
        var served = responses.Count(r => r.StatusCode != HttpStatusCode.TooManyRequests);
        Assert.That(served, Is.LessThanOrEqualTo(PerAccount), $"of 45 parallel guesses, {served} were answered");
        foreach (var limited in responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests))
            Assert.That(limited.Headers.RetryAfter?.Delta, Is.Not.Null, "Retry-After");
    }

    [Test, Description("RFC 8628 §5.1, RFC 9700 §4: approving with the raw user code of a live code whose page was never shown is refused; the device keeps waiting")]
    public async Task DeviceConfirm_WithRawUserCodeOfCodeNeverShown_IsRefusedAndCodeStaysPending()
    {
        var (userCode, deviceCode) = await StartDeviceAsync();
        using var browser = await SignedInBrowserAsync();
        var response = await browser.PostAsync("/device/confirm", new Dictionary<string, string>
        {
            ["csrf_token"] = await browser.CsrfAsync(), ["user_code"] = userCode, ["approved"] = "true",
        });
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.InRange(400, 499), body);
        Assert.That(body, Does.Not.Contain("Device connected"));
        await AssertStillPendingAsync(userCode, deviceCode);
    }

    [Test, Description("RFC 8628 §5.1: the approval form names the code it showed; swapping in another live code approves nothing else")]
    public async Task DeviceConfirm_WithFormOfCodeAAndUserCodeOfCodeB_DoesNotApproveB()
    {
        var (codeA, _) = await StartDeviceAsync();
        var (codeB, deviceB) = await StartDeviceAsync();
        using var browser = await SignedInBrowserAsync();
        var page = await BrowserFlow.HtmlAsync(await browser.GetAsync("/device?user_code=" + codeA));
        Assert.That(IsConfirmPage(page), Is.True, page);
        var fields = BrowserFlow.HiddenFields(page);
        fields["user_code"] = codeB;
        fields["approved"] = "true";
        await browser.PostAsync("/device/confirm", fields);
        await AssertStillPendingAsync(codeB, deviceB);
    }

    [TestCase(false, TestName = "DeviceConfirm_WithHandleFromAnotherUsersSession_IsRefusedAndCodeStaysPending")]
    [TestCase(true, TestName = "DeviceConfirm_WithHandleFromAnotherSessionOfTheSameUser_IsRefusedAndCodeStaysPending")]
    [Description("RFC 8628 §5.1, RFC 9700 §4: the handle on the approval form is bound to the session that saw the page")]
    public async Task DeviceConfirm_WithHandleFromAnotherSession_IsRefused(bool sameUser)
    {
        var (userCode, deviceCode) = await StartDeviceAsync();
        var user = await _app.RegisterUserAsync();
        using var shown = await SignedInBrowserAsync(user);
        var page = await BrowserFlow.HtmlAsync(await shown.GetAsync("/device?user_code=" + userCode));
        Assert.That(IsConfirmPage(page), Is.True, page);

        using var other = await SignedInBrowserAsync(sameUser ? user : null);
        var fields = BrowserFlow.HiddenFields(page);
        fields["csrf_token"] = await other.CsrfAsync();
        fields["approved"] = "true";
        var response = await other.PostAsync("/device/confirm", fields);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.InRange(400, 499), body);
        Assert.That(body, Does.Not.Contain("Device connected"));
        await AssertStillPendingAsync(userCode, deviceCode);
    }

    [Test, Description("RFC 8628 §5.1: every refused approval (raw live code, raw unknown code, tampered or foreign form) gets the same answer, so /device/confirm is no oracle")]
    public async Task DeviceConfirm_Refusals_AreIndistinguishable()
    {
        var (live, liveDevice) = await StartDeviceAsync();
        var (shownCode, shownDevice) = await StartDeviceAsync();
        using var owner = await SignedInBrowserAsync();
        var page = BrowserFlow.HiddenFields(await BrowserFlow.HtmlAsync(await owner.GetAsync("/device?user_code=" + shownCode)));

        using var attacker = await SignedInBrowserAsync();
        var csrf = await attacker.CsrfAsync();
        Dictionary<string, string> Form(Action<Dictionary<string, string>> change)
        {
            var f = new Dictionary<string, string> { ["csrf_token"] = csrf, ["approved"] = "true" };
            change(f);
            return f;
        }
        var attempts = new[]
        {
            Form(f => f["user_code"] = live),
            Form(f => f["user_code"] = RandomUserCode()),
            Form(f => f["user_code"] = "AAAA-AAAA"),
            Form(f => { foreach (var (k, v) in page.Where(kv => kv.Key != "csrf_token")) f[k] = v; }),
            Form(f => { foreach (var (k, v) in page.Where(kv => kv.Key != "csrf_token")) f[k] = v[..^2] + (v.EndsWith("AA") ? "BB" : "AA"); }),
        };
        var answers = new List<(HttpStatusCode Status, string Body)>();
        foreach (var form in attempts)
        {
            var response = await attacker.PostAsync("/device/confirm", form);
            answers.Add((response.StatusCode, await response.Content.ReadAsStringAsync()));
        }
        Assert.Multiple(async () =>
        {
            foreach (var (status, body) in answers)
            {
                Assert.That((int)status, Is.InRange(400, 499), body);
                Assert.That(body, Does.Not.Contain("Device connected"));
            }
            Assert.That(answers.Distinct().Count(), Is.EqualTo(1), "refusals differ: " + string.Join(" | ", answers.Select(a => $"{(int)a.Status} {a.Body.Length}")));
            Assert.That(await StatusAsync(live), Is.EqualTo("pending"));
            Assert.That(await StatusAsync(shownCode), Is.EqualTo("pending"));
        });
        Assert.That(await PollErrorAsync(liveDevice), Is.EqualTo("authorization_pending"));
        Assert.That(await PollErrorAsync(shownDevice), Is.EqualTo("authorization_pending"));
    }

    [Test, Description("RFC 8628 §5.1, §6.1: a malformed code, an unknown well-formed one and an expired one get the same page (the code typed is echoed back, nothing else differs)")]
    public async Task DevicePage_ForMalformedUnknownAndExpiredCodes_AnswersAlike()
    {
        var (expired, _) = await StartDeviceAsync();
        await _app.SqlScalarAsync<int>("UPDATE device_codes SET expires_at = now() - interval '1 second' WHERE user_code = @Code", new { Code = expired.Replace("-", "") });
        using var browser = await SignedInBrowserAsync();
        var csrf = await browser.CsrfAsync();
        var answers = new List<(HttpStatusCode, string)>();
        foreach (var typed in new[] { "AAAA-AAAA", "BCDF-GHJ", RandomUserCode(), expired })
        {
            var response = await browser.GetAsync("/device?user_code=" + Uri.EscapeDataString(typed));
            var body = (await response.Content.ReadAsStringAsync()).Replace(WebUtility.HtmlEncode(typed), "TYPED").Replace(csrf, "CSRF");
            Assert.That(IsConfirmPage(body), Is.False, typed);
            answers.Add((response.StatusCode, body));
        }
        Assert.That(answers.Distinct().Count(), Is.EqualTo(1), string.Join("\n----\n", answers));
    }
}
