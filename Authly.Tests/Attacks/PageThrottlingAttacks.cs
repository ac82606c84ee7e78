using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 13: a browser page that is rate limited answers its throttling through the pages' one error mapper.
/// A burst at the vault connect page (rate limited per address) must get a 429 page with Retry-After, never an
/// unhandled exception (a 500 that reads like a bug and tells the attacker nothing useful about when to stop).
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class PageThrottlingAttacks : AppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["RATE_LIMIT_MAX_REQUESTS"] = "2",
        ["RATE_LIMIT_WINDOW_SECONDS"] = "60",
    };

    [Test, Description("Issue 13: a burst at the vault connect page is throttled with a 429 page and Retry-After")]
    public async Task Issue13_BurstAtVaultConnectPage_Gets429PageWithRetryAfter()
    {
        var browser = _app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        HttpResponseMessage last = null!;
        for (var i = 0; i < 3; i++)
            last = await browser.GetAsync("/api/v1/vault/connect/some-provider?purpose=default");

        Assert.That(last.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), await last.Content.ReadAsStringAsync());
        Assert.That(last.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
        Assert.That(last.Headers.RetryAfter?.Delta?.TotalSeconds, Is.InRange(1, 60), "Retry-After is the time left in the window");
    }
}
