using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Authly.Tests.Infrastructure;

/// <summary>
/// TestServer has no TCP peer, so every request looks in-process. This puts the address from the
/// test-only <see cref="Header"/> into HttpContext.Connection.RemoteIpAddress, ahead of the app's own
/// middleware, so tests can play a remote caller (203.0.113.5), a loopback one, or a proxy.
/// </summary>
public static class TestPeerAddress
{
    public const string Header = "X-Test-Peer-Address";

    public static WebApplicationFactory<Program> WithPeerAddressHeader(this WebApplicationFactory<Program> app) =>
        app.WithWebHostBuilder(b => b.ConfigureServices(s => s.AddSingleton<IStartupFilter, Filter>()));

    private sealed class Filter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((http, nextMiddleware) =>
            {
                if (http.Request.Headers.TryGetValue(Header, out var value))
                {
                    http.Connection.RemoteIpAddress = IPAddress.Parse(value.ToString());
                    http.Request.Headers.Remove(Header);
                }
                return nextMiddleware(http);
            });
            next(app);
        };
    }
}
