using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Threat class: a page of another origin reading an answer it should not (Fetch §3.2, the CORS protocol). Issue 14
/// runs the CORS middleware only for requests that carry <c>Origin</c> or reach a route that declares a CORS policy
/// (it opened a DI scope for every request). These pin what that may not change: the routes that declare the public
/// policy (token, revocation, userinfo, discovery, JWKS) answer other origins and their preflights; every other route
/// still answers none; and a CORS route called without <c>Origin</c> (a server-side client) is served, not refused by
/// the endpoint middleware's "CORS metadata but no CORS middleware" check.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class CorsScopeAttacks
{
    private AuthlyApp _app = null!;

    [OneTimeSetUp] public async Task StartAsync() => _app = await AuthlyApp.StartAsync();
    [OneTimeTearDown] public void Stop() => _app.Dispose();

    private static string? AllowOrigin(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;

    [TestCase("/health/live")]
    [TestCase("/health")]
    [TestCase("/version")]
    [TestCase("/api/v1/users/me")]
    [TestCase("/admin/clients")]
    [Description("Fetch §3.2.5; issue 14: a route without a CORS policy gives another origin no Access-Control-Allow-Origin")]
    public async Task RouteWithoutCorsPolicy_ReadFromAnotherOrigin_GetsNoAllowOrigin(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Origin", "https://attacker.example");

        var response = await _app.CreateClient().SendAsync(request);

        Assert.That(AllowOrigin(response), Is.Null, $"{path} answered {(int)response.StatusCode}");
    }

    [Test, Description("Fetch §3.2.2; issue 14: a preflight of the token endpoint from another origin is still answered")]
    public async Task TokenEndpoint_Preflight_IsAnsweredForAnyOrigin()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "/api/v1/oauth/token");
        request.Headers.Add("Origin", "https://spa.example");
        request.Headers.Add("Access-Control-Request-Method", "POST");

        var response = await _app.CreateClient().SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That(AllowOrigin(response), Is.EqualTo("*"));
    }

    [Test, Description("Issue 14: a CORS route without Origin is served, with no CORS header (the endpoint middleware's check passes)")]
    public async Task CorsRoute_WithoutOrigin_IsServedWithoutCorsHeaders()
    {
        var client = _app.CreateClient();

        var jwks = await client.GetAsync("/.well-known/jwks.json");
        var token = await client.PostAsync("/api/v1/oauth/token",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["client_id"] = "nobody" }));

        Assert.Multiple(async () =>
        {
            Assert.That(jwks.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(AllowOrigin(jwks), Is.Null);
            Assert.That(token.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), await token.Content.ReadAsStringAsync());
            Assert.That(await token.Content.ReadAsStringAsync(), Does.Contain("\"error\":\"invalid_client\""));
        });
    }
}
