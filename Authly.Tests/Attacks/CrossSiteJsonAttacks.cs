using System.Net;
using System.Text;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Threat class: a cross-site page making the victim's browser call a JSON API. Without a CORS preflight a
/// page can send only the "simple" content types (Fetch §2.2.2 CORS-safelisted request-header:
/// application/x-www-form-urlencoded, multipart/form-data, text/plain, with any parameters). The JSON APIs
/// read a body only as application/json, parsed (issue 13), so a JSON document smuggled in a simple request
/// is refused before it is parsed. The public registration endpoint is the one JSON write that needs no
/// credential, so it is the target: a refused request must leave no account behind.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class CrossSiteJsonAttacks
{
    private AuthlyApp _app = null!;

    [OneTimeSetUp] public async Task StartAsync() => _app = await AuthlyApp.StartAsync();
    [OneTimeTearDown] public void Stop() => _app.Dispose();

    [TestCase("text/plain")]
    [TestCase("text/plain; charset=application/json")]
    [TestCase("text/plain;application/json")]
    [TestCase("application/x-www-form-urlencoded")]
    [TestCase("application/x-www-form-urlencoded; x=application/json")]
    [TestCase("multipart/form-data; boundary=application/json")]
    [Description("Fetch §2.2.2; issue 13: a JSON body in a preflight-free content type registers nobody")]
    public async Task Registration_FromACrossSiteSimpleRequest_IsRefusedAndCreatesNoAccount(string contentType)
    {
        var username = "x" + Guid.NewGuid().ToString("N")[..12];
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(
            $$"""{"username":"{{username}}","email":"{{username}}@attacker.example","password":"Attacker-Chosen-1"}"""));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/users/") { Content = content };
        request.Headers.TryAddWithoutValidation("Origin", "https://attacker.example");

        var response = await _app.CreateClient().SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType), await response.Content.ReadAsStringAsync());
        Assert.That(await _app.SqlScalarAsync<long>("SELECT count(*) FROM users WHERE username = @username", new { username }), Is.Zero,
            "the attacker's account must not exist");
    }
}
