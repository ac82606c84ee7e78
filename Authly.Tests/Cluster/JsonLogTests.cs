using System.Text.Json;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Cluster;

/// <summary>LOG_JSON=true: one JSON object per line, each request's lines carrying its correlation id, and no secret in them.</summary>
[TestFixture, Category("Operations")]
public sealed class JsonLogTests
{
    [Test, Description("Structured JSON logs with the request's X-Request-ID in scope; nothing secret logged")]
    public async Task Logs_WithLogJson_AreJsonLinesCarryingTheRequestId()
    {
        var env = ClusterEnvironment.For(await TestServers.CreateDatabaseAsync(), "http://127.0.0.1:1");
        env["LOG_JSON"] = "true";
        env["LOG_LEVEL"] = "Information";
        await using var node = await AuthlyNode.StartAsync(env);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        const string secret = "not-the-secret-4f1b2c";
        var request = new HttpRequestMessage(HttpMethod.Post, node.Url + "/api/v1/oauth/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials", ["client_id"] = "no-such-client\r\nforged line", ["client_secret"] = secret,
            }),
        };
        request.Headers.Add("X-Request-ID", "corr-json-log-1");
        var response = await http.SendAsync(request);
        Assert.That((int)response.StatusCode, Is.EqualTo(401));

        string[] lines = [];
        var found = await Eventually.TrueAsync(() =>
        {
            lines = node.Output.Split('\n').Where(l => l.Contains("corr-json-log-1")).ToArray();
            return Task.FromResult(lines.Length > 0);
        }, TimeSpan.FromSeconds(5));
        Assert.That(found, Is.True, "no log line carries the request id:\n" + node.Output);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            Assert.That(doc.RootElement.TryGetProperty("LogLevel", out _), Is.True, line);
        }
        Assert.That(node.Output, Does.Not.Contain(secret));
        Assert.That(node.Output.Split('\n').Any(l => l.StartsWith("forged line", StringComparison.Ordinal)), Is.False);
    }
}
