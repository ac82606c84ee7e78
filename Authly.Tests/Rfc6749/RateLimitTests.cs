using System.Net;
using System.Net.Http.Json;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc6749;

/// <summary>
/// API.md: RATE_LIMIT_MAX_REQUESTS per RATE_LIMIT_WINDOW_SECONDS per caller; over it, 429 with
/// Retry-After (RFC 6585 §4). Each test has its own server, because the counter is per caller IP
/// and every in-process request shares one.
/// </summary>
[TestFixture, Category("RFC6749")]
public sealed class RateLimitTests
{
    private static Task<AuthlyApp> StartAsync(string max) => AuthlyApp.StartAsync(new Dictionary<string, string?>
    {
        ["RATE_LIMIT_MAX_REQUESTS"] = max,
        ["RATE_LIMIT_WINDOW_SECONDS"] = "60",
    });

    private static Task<HttpResponseMessage> LoginAsync(AuthlyApp app) =>
        app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", AuthlyApp.AdminUsername), ("password", AuthlyApp.AdminPassword));

    [Test, Description("API.md, RFC 6585 §4: the request over the limit gets 429 with Retry-After")]
    public async Task TokenRequest_OverTheLimit_Returns429WithRetryAfter()
    {
        using var app = await StartAsync("3");
        for (var i = 1; i <= 3; i++)
            await OAuthAssert.TokenAsync(await LoginAsync(app));

        var limited = await LoginAsync(app);
        await OAuthAssert.ErrorAsync(limited, HttpStatusCode.TooManyRequests, "invalid_request");
        var retryAfter = limited.Headers.RetryAfter?.Delta;
        Assert.That(retryAfter, Is.Not.Null, "Retry-After");
        Assert.That(retryAfter!.Value.TotalSeconds, Is.InRange(1, 60), "Retry-After is the time left in the 60 s window");
    }

    [Test, Description("API.md: the limit counts requests, not only successes")]
    public async Task TokenRequest_FailedRequestsCountTowardTheLimit()
    {
        using var app = await StartAsync("3");
        for (var i = 1; i <= 3; i++)
            await OAuthAssert.ErrorAsync(await app.PostFormAsync(TokenPath, ("grant_type", "nonsense")), HttpStatusCode.BadRequest, "unsupported_grant_type");
        await OAuthAssert.ErrorAsync(await LoginAsync(app), HttpStatusCode.TooManyRequests, "invalid_request");
    }

    [Test, Description("API.md: the JSON refresh endpoint shares the token endpoint's limit")]
    public async Task JsonRefreshEndpoint_AfterTokenLimitIsReached_Returns429()
    {
        using var app = await StartAsync("3");
        for (var i = 1; i <= 3; i++)
            await OAuthAssert.TokenAsync(await LoginAsync(app));
        var response = await app.CreateClient().PostAsync("/api/v1/oauth/refresh",
            new StringContent("""{"grant_type":"refresh_token","refresh_token":"x"}""", System.Text.Encoding.UTF8, "application/json"));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.TooManyRequests, "invalid_request");
        Assert.That(response.Headers.RetryAfter?.Delta, Is.Not.Null);
    }

    [Test, Description("Issue 13: one rate limit for OAuth and API routes; on a JSON API it answers in the API's shape (429 RATE_LIMITED, Retry-After)")]
    public async Task Registration_OverTheLimit_Returns429RateLimitedWithRetryAfter()
    {
        using var app = await StartAsync("2");
        var http = app.CreateClient();
        for (var i = 1; i <= 2; i++)
        {
            var name = $"rl{i}-{Guid.NewGuid():N}"[..20];
            var ok = await http.PostAsJsonAsync("/api/v1/users/", new { username = name, email = name + "@example.com", password = "Secret-Pass-1" });
            Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.Created), await ok.Content.ReadAsStringAsync());
        }
        var limited = await http.PostAsJsonAsync("/api/v1/users/", new { username = "rl-over", email = "rl-over@example.com", password = "Secret-Pass-1" });
        var body = await AuthlyApp.JsonAsync(limited);
        Assert.Multiple(() =>
        {
            Assert.That(limited.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(AuthlyApp.Str(body, "detail"), Is.EqualTo("Rate limit exceeded. Try again later."));
            Assert.That(AuthlyApp.Str(body, "error_code"), Is.EqualTo("RATE_LIMITED"));
            Assert.That(body.ContainsKey("error"), Is.False, "the API shape, not the OAuth one");
            Assert.That(limited.Headers.RetryAfter?.Delta?.TotalSeconds, Is.InRange(1, 60), "Retry-After");
        });
    }

    [Test, Description("API.md: RATE_LIMIT_MAX_REQUESTS=0 disables the limit")]
    public async Task TokenRequest_WithLimitZero_IsNeverLimited()
    {
        using var app = await StartAsync("0");
        for (var i = 1; i <= 12; i++)
        {
            var response = await LoginAsync(app);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"request {i}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    [Test, Description("API.md: each endpoint group has its own counter")]
    public async Task RevokeEndpoint_AfterTokenLimitIsReached_IsStillServed()
    {
        using var app = await StartAsync("3");
        for (var i = 1; i <= 4; i++) await LoginAsync(app);
        var response = await app.PostFormAsync("/api/v1/oauth/revoke", ("token", "unknown-token"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test, Description("API.md: unauthenticated introspection is rate limited per IP; authenticated callers are not held to that limit")]
    public async Task AnonymousIntrospection_OverTheLimit_Returns429ButAuthenticatedCallersAreServed()
    {
        using var app = await StartAsync("3");
        var (id, secret) = await app.CreateConfidentialClientAsync();
        for (var i = 1; i <= 3; i++)
            Assert.That(await (await app.PostFormAsync("/api/v1/oauth/introspect", ("token", "x"))).Content.ReadAsStringAsync(),
                Is.EqualTo("""{"active":false}"""));

        var limited = await app.PostFormAsync("/api/v1/oauth/introspect", ("token", "x"));
        await OAuthAssert.ErrorAsync(limited, HttpStatusCode.TooManyRequests, "invalid_request");
        Assert.That(limited.Headers.RetryAfter?.Delta, Is.Not.Null);

        for (var i = 1; i <= 4; i++)
        {
            var authenticated = await app.PostFormAsync("/api/v1/oauth/introspect", AuthlyApp.Basic(id, secret!), ("token", "x"));
            Assert.That(authenticated.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"authenticated request {i}");
        }
    }
}
