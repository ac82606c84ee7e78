using System.Text.Json.Nodes;
using Authly.Embedded;
using Authly.Proxy;
using Authly.Server.Proxy;
using Authly.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Authly.Tests.Proxies;

/// <summary>A real PostgreSQL restart under a running proxy: its own cluster, stopped and started on the same port.</summary>
[TestFixture, NonParallelizable]
public sealed class PostgresRestartTests
{
    [Test]
    public async Task PostgresStoppedAndStarted_ProxyAnswers503ThenRecoversOnItsOwn()
    {
        // Not CreateTempSubdirectory: that one is 0700, and PostgreSQL runs as the postgres user under root.
        var dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "authly-proxy-pg-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        var pg = await EmbeddedPostgres.StartAsync(dir, CancellationToken.None);
        var port = pg.Port;
        await using var authly = await AuthlyApp.StartAsync();
        var user = await authly.CreateUserAsync();
        var token = AuthlyApp.Str(await authly.PasswordTokenAsync(user.Username, user.Password, "database:read"), "access_token");
        using var http = new HttpClient();
        try
        {
            var login = await ProxyRoles.LoginAsync(global::Authly.Storage.DatabaseUrl.ToConnectionString(pg.ServerUrl("postgres")));
            await using var proxy = await ProxyServer.StartAsync("postgres", new ProxyOptions
            {
                AuthlyUrl = AuthlyApp.Issuer, DatabaseUrl = login, DatabaseRole = ProxyRoles.Role,
            }, authly.CreateClient(), logLevel: LogLevel.Warning);
            async Task<(int, string)> Select()
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, proxy.Url + "/query")
                {
                    Content = System.Net.Http.Json.JsonContent.Create(new JsonObject { ["query"] = "SELECT 41 + 1 AS answer" }),
                };
                request.Headers.Authorization = new("Bearer", token);
                var response = await http.SendAsync(request);
                return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
            }

            Assert.That(await Select(), Is.EqualTo((200, "{\"data\":[{\"answer\":42}],\"row_count\":1}")));
            await pg.DisposeAsync();
            Assert.That(await Select(), Is.EqualTo((503, "{\"error\":\"Database unavailable\"}")));
            pg = await EmbeddedPostgres.StartAsync(dir, CancellationToken.None, port);
            Assert.That(await Select(), Is.EqualTo((200, "{\"data\":[{\"answer\":42}],\"row_count\":1}")), "the same proxy, without a restart of its own");
        }
        finally
        {
            await pg.DisposeAsync();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
