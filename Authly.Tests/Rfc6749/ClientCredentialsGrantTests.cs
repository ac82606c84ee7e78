using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc6749;

[TestFixture, Category("RFC6749")]
public sealed class ClientCredentialsGrantTests
{
    private AuthlyApp _app = null!;

    [OneTimeSetUp] public async Task StartAsync() => _app = await AuthlyApp.StartAsync();
    [OneTimeTearDown] public void Stop() => _app.Dispose();

    [Test, Description("RFC 6749 §4.4.2, §4.4.3")]
    public async Task TokenRequest_WithBasicCredentials_ReturnsBearerTokenWithoutRefreshToken()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync();
        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = AuthlyApp.Basic(id, secret!);
        var response = await http.PostAsync("/api/v1/oauth/token", AuthlyApp.Form(("grant_type", "client_credentials"), ("scope", "read")));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            Assert.That(response.Headers.CacheControl?.NoStore, Is.True);
            Assert.That(AuthlyApp.Str(body, "token_type"), Is.EqualTo("Bearer"));
            Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"));
            Assert.That(body["expires_in"]!.GetValue<int>(), Is.EqualTo(3600));
            Assert.That(body.ContainsKey("refresh_token"), Is.False);
        });
    }
}
