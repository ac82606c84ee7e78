using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Health;

/// <summary>
/// GET /metrics (Prometheus text exposition 0.0.4) and request correlation ids. Every Authly in
/// this test process feeds the same meter name, so counts are compared before and after, never
/// as absolute values.
/// </summary>
// NonParallelizable: the exporter's MeterListener sees the "Authly" meter of every server in the process, so another
// fixture's server (one with its database cut off, say) would show in authly_database_up and the counters.
[TestFixture, Category("Operations"), NonParallelizable]
public sealed partial class MetricsTests : AppFixture
{
    private async Task<string> ScrapeAsync()
    {
        var response = await _app.CreateClient().GetAsync("/metrics");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.ToString(), Does.StartWith("text/plain; version=0.0.4"));
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The value of the one series with exactly these labels (in any order), or 0 when it does not exist yet.</summary>
    private static double Value(string text, string name, params (string Key, string Value)[] labels)
    {
        foreach (var line in text.Split('\n'))
        {
            var m = SampleLine().Match(line);
            if (!m.Success || m.Groups["name"].Value != name) continue;
            var have = LabelPair().Matches(m.Groups["labels"].Value).Select(l => (l.Groups[1].Value, l.Groups[2].Value)).ToHashSet();
            if (have.SetEquals(labels)) return double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        }
        return 0;
    }

    [Test, Description("Prometheus text format: every sample line is name{labels} value, every family has a TYPE")]
    public async Task Metrics_AreWellFormedPrometheusText()
    {
        await _app.CreateClient().GetAsync("/health");
        var text = await ScrapeAsync();
        var typed = new HashSet<string>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal)) { typed.Add(line.Split(' ')[2]); continue; }
            if (line.StartsWith('#')) continue;
            var m = SampleLine().Match(line);
            Assert.That(m.Success, Is.True, $"not a sample line: {line}");
            var family = Regex.Replace(m.Groups["name"].Value, "_(bucket|sum|count)$", "");
            Assert.That(typed.Contains(family) || typed.Contains(m.Groups["name"].Value), Is.True, $"no # TYPE before {line}");
        }
        foreach (var name in new[] { "authly_http_requests_total", "authly_http_request_duration_seconds_bucket", "authly_rate_limit_hits_total",
                     "authly_account_lockout_hits_total", "authly_active_sessions", "authly_active_refresh_token_families", "authly_database_up", "authly_redis_up" })
            Assert.That(text, Does.Contain("\n" + name), name);
        Assert.That(Value(text, "authly_database_up"), Is.EqualTo(1));
        Assert.That(Value(text, "authly_redis_up"), Is.EqualTo(1));
    }

    [Test, Description("Token requests are counted by grant type and outcome; HTTP requests by route template, not raw path")]
    public async Task TokenRequests_AreCountedByGrantAndOutcome_AndRoutesByTemplate()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync();
        var before = await ScrapeAsync();
        var ok = await _app.PostFormAsync("/api/v1/oauth/token", AuthlyApp.Basic(id, secret!), ("grant_type", "client_credentials"));
        Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var bad = await _app.PostFormAsync("/api/v1/oauth/token", AuthlyApp.Basic(id, "wrong-secret"), ("grant_type", "client_credentials"));
        Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        await _app.CreateClient().GetAsync($"/admin/clients/{id}");
        var after = await ScrapeAsync();

        double Delta(string name, params (string, string)[] labels) => Value(after, name, labels) - Value(before, name, labels);
        Assert.That(Delta("authly_oauth_token_requests_total", ("grant_type", "client_credentials"), ("status", "success")), Is.GreaterThanOrEqualTo(1));
        Assert.That(Delta("authly_http_requests_total", ("method", "POST"), ("route", "/api/v1/oauth/token"), ("status", "200")), Is.GreaterThanOrEqualTo(1));
        Assert.That(Delta("authly_http_requests_total", ("method", "POST"), ("route", "/api/v1/oauth/token"), ("status", "401")), Is.GreaterThanOrEqualTo(1));
        Assert.That(after, Does.Contain("route=\"/admin/clients/{clientId}\""));
        Assert.That(after, Does.Not.Contain(id), "a client id reached a label");
    }

    [Test, Description("No user names, passwords, secrets or tokens in labels")]
    public async Task Metrics_AfterLogins_CarryNoUserNamesSecretsOrTokens()
    {
        var user = await _app.CreateUserAsync();
        var (id, secret) = await _app.CreateConfidentialClientAsync();
        var good = await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", user.Username), ("password", user.Password));
        var token = AuthlyApp.Str(await AuthlyApp.JsonAsync(good), "access_token");
        await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", user.Username), ("password", "wrong-" + user.Password));
        await _app.PostFormAsync("/api/v1/oauth/token", AuthlyApp.Basic(id, secret!), ("grant_type", "client_credentials"));
        var text = await ScrapeAsync();
        Assert.That(Value(text, "authly_auth_login_attempts_total", ("status", "success")), Is.GreaterThanOrEqualTo(1));
        Assert.That(Value(text, "authly_auth_login_attempts_total", ("status", "failure")) + Value(text, "authly_auth_login_attempts_total", ("status", "invalid_credentials")),
            Is.GreaterThanOrEqualTo(1), text);
        foreach (var secretText in new[] { user.Username, user.Password, secret!, token, token[..20] })
            Assert.That(text, Does.Not.Contain(secretText));
    }

    [Test, Description("Correlation: a well-formed X-Request-ID is echoed; a missing or hostile one is replaced")]
    public async Task RequestId_IsEchoedWhenWellFormed_AndReplacedOtherwise()
    {
        var client = _app.CreateClient();
        var mine = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        mine.Headers.Add("X-Request-ID", "trace-123.abc_DEF");
        var echoed = await client.SendAsync(mine);
        Assert.That(echoed.Headers.GetValues("X-Request-ID").Single(), Is.EqualTo("trace-123.abc_DEF"));

        var none = await client.GetAsync("/health/live");
        var generated = none.Headers.GetValues("X-Request-ID").Single();
        Assert.That(generated, Does.Match("^[0-9a-f]{32}$"));

        var hostile = new HttpRequestMessage(HttpMethod.Get, "/health/live");
        hostile.Headers.TryAddWithoutValidation("X-Request-ID", "x\" injected=\"1 <script>");
        var replaced = await client.SendAsync(hostile);
        Assert.That(replaced.Headers.GetValues("X-Request-ID").Single(), Does.Match("^[0-9a-f]{32}$"));
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>[-+0-9.eE]+|NaN|\+Inf|-Inf)$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)""")]
    private static partial Regex LabelPair();
}
