using System.Text.Json.Nodes;
using Authly.Proxy;
using Authly.Server.Proxy;
using Authly.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Authly.Tests.Proxies;

/// <summary>
/// RFC 7662 §2.1: an Authly that requires authenticated introspection. The proxy then needs a
/// confidential client's credentials; without them it fails closed (503), never open.
/// </summary>
[TestFixture]
public sealed class ProxyIntrospectionAuthTests
{
    private AuthlyApp _authly = null!;
    private string _token = "";

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _authly = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["AUTHLY_INTROSPECTION_REQUIRE_AUTH"] = "true" });
        var user = await _authly.CreateUserAsync();
        _token = AuthlyApp.Str(await _authly.PasswordTokenAsync(user.Username, user.Password, "cache:read"), "access_token");
    }

    [OneTimeTearDown]
    public void Stop() => _authly.Dispose();

    private async Task<(int Status, JsonObject Body)> GetThroughAsync(ProxyOptions options)
    {
        await using var proxy = await ProxyServer.StartAsync("redis", options with { AuthlyUrl = AuthlyApp.Issuer, RedisUrl = TestServers.RedisUrl },
            _authly.CreateClient(), logLevel: LogLevel.Critical);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, proxy.Url + "/command")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new JsonObject { ["command"] = "GET", ["args"] = new JsonArray("k") }),
        };
        request.Headers.Authorization = new("Bearer", _token);
        var response = await http.SendAsync(request);
        return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    [Test]
    public async Task Rfc7662_2_1_WithoutClientCredentials_ProxyFailsClosed()
    {
        var (status, body) = await GetThroughAsync(new ProxyOptions());
        Assert.That(status, Is.EqualTo(503));
        Assert.That(AuthlyApp.Str(body, "error"), Is.EqualTo("Authorization server unavailable"));
    }

    [Test]
    public async Task Rfc7662_2_1_WithAConfidentialClient_TokensAreChecked()
    {
        var (id, secret) = await _authly.CreateConfidentialClientAsync(scope: "read", grants: ["client_credentials"]);
        var (status, body) = await GetThroughAsync(new ProxyOptions { ClientId = id, ClientSecret = secret });
        Assert.That(status, Is.EqualTo(200), body.ToJsonString());
        var (wrongStatus, _) = await GetThroughAsync(new ProxyOptions { ClientId = id, ClientSecret = secret + "x" });
        Assert.That(wrongStatus, Is.EqualTo(503), "a wrong proxy secret is an operator problem, reported as unavailable, not a pass");
    }
}
