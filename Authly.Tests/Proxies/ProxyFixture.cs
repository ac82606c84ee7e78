using Microsoft.Extensions.Logging;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Authly.Proxy;
using Authly.Server.Proxy;
using Authly.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace Authly.Tests.Proxies;

/// <summary>
/// An Authly server (in memory) and the proxies in front of a database of their own (with the
/// example RLS schema) and the test Redis. The proxies reach Authly through the in-memory
/// server's client and check tokens against <see cref="Clock"/>, which tests move.
/// </summary>
internal sealed class ProxyFixture : IAsyncDisposable
{
    /// <summary>
    /// Real time plus what a test added: the proxy sees Authly's fresh tokens as fresh however long
    /// the run has taken, and a test can still jump past a cache or an expiry.
    /// </summary>
    public sealed class RunningClock : TimeProvider
    {
        private TimeSpan _offset;
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow + _offset;
        public void Advance(TimeSpan by) => _offset += by;
    }

    public AuthlyApp Authly { get; private init; } = null!;
    public RunningClock Clock { get; } = new();
    /// <summary>The proxied database, connected as the superuser (for setting up and checking rows).</summary>
    public string TargetDatabase { get; private init; } = "";
    /// <summary>The proxied database as the proxy logs in to it: <see cref="ProxyRoles.Login"/>, which can only become <see cref="ProxyRoles.Role"/>.</summary>
    public string ProxyDatabase { get; private init; } = "";
    public ProxyServer? Postgres { get; private set; }
    public ProxyServer? Redis { get; private set; }
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public static readonly string RlsExample = Path.Combine(TestContext.CurrentContext.TestDirectory, "..", "..", "..", "..", "examples", "postgres-proxy-rls.sql");

    public static async Task<ProxyFixture> StartAsync(bool postgres = true, bool redis = true, Func<ProxyOptions, ProxyOptions>? configure = null)
    {
        var target = await DatabaseServer.CreateEmptyDatabaseAsync();
        // The example creates the roles it uses, so it runs under the role lock.
        await ProxyRoles.RunRoleSqlAsync(target, await File.ReadAllTextAsync(RlsExample));
        var login = await ProxyRoles.LoginAsync(target);
        var fixture = new ProxyFixture { Authly = await AuthlyApp.StartAsync(), TargetDatabase = target, ProxyDatabase = login };
        var options = new ProxyOptions
        {
            AuthlyUrl = AuthlyApp.Issuer, Port = 0, WirePort = 0, DatabaseUrl = login, DatabaseRole = ProxyRoles.Role,
            RedisUrl = TestServers.RedisUrl, MaxRows = 50, MaxResponseBytes = 64 * 1024, StatementTimeout = TimeSpan.FromMilliseconds(1500),
        };
        options = configure?.Invoke(options) ?? options;
        if (postgres) fixture.Postgres = await ProxyServer.StartAsync("postgres", options, fixture.Authly.CreateClient(), fixture.Clock, LogLevel.Warning);
        if (redis) fixture.Redis = await ProxyServer.StartAsync("redis", options, fixture.Authly.CreateClient(), fixture.Clock, LogLevel.Warning);
        return fixture;
    }

    /// <summary>A new user and an access token of theirs with the given scopes.</summary>
    public async Task<(AuthlyApp.TestUser User, string Token)> UserTokenAsync(string scope)
    {
        var user = await Authly.CreateUserAsync();
        var token = AuthlyApp.Str(await Authly.PasswordTokenAsync(user.Username, user.Password, scope), "access_token");
        return (user, token);
    }

    /// <summary>RFC 7009 revocation of a user token from <see cref="UserTokenAsync"/>: its client (the app's script client) authenticates.</summary>
    public async Task<HttpResponseMessage> RevokeAsync(string token)
    {
        var (id, secret) = await Authly.ScriptClientAsync();
        return await Authly.PostFormAsync(RevokePath, AuthlyApp.Basic(id, secret), ("token", token));
    }

    public async Task<string> TokenAsync(AuthlyApp.TestUser user, string scope) =>
        AuthlyApp.Str(await Authly.PasswordTokenAsync(user.Username, user.Password, scope), "access_token");

    public Task<HttpResponseMessage> QueryAsync(string? token, string query, params object?[] parameters) =>
        PostAsync(Postgres!.Url + "/query", token, new JsonObject { ["query"] = query, ["params"] = JsonSerializerNode(parameters) });

    public Task<HttpResponseMessage> CommandAsync(string? token, string command, params object[] args) =>
        PostAsync(Redis!.Url + "/command", token, new JsonObject { ["command"] = command, ["args"] = JsonSerializerNode(args) });

    public async Task<HttpResponseMessage> PostAsync(string url, string? token, JsonNode body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = JsonContent.Create(body) };
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await _http.SendAsync(request);
    }

    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request) => await _http.SendAsync(request);

    /// <summary>The JSON body of a response that must have the given status.</summary>
    public static async Task<JsonObject> ExpectAsync(HttpResponseMessage response, int status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(status), text);
        return JsonNode.Parse(text)!.AsObject();
    }

    public async Task<T> TargetScalarAsync<T>(string sql, object? args = null)
    {
        await using var conn = new NpgsqlConnection(TargetDatabase + ";Pooling=false");
        await conn.OpenAsync();
        return (await conn.ExecuteScalarAsync<T>(sql, args))!;
    }

    private static JsonArray JsonSerializerNode(object?[] values) =>
        new(values.Select(v => v is null ? null : System.Text.Json.JsonSerializer.SerializeToNode(v)).ToArray());

    public async ValueTask DisposeAsync()
    {
        if (Postgres is not null) await Postgres.DisposeAsync();
        if (Redis is not null) await Redis.DisposeAsync();
        await Authly.DisposeAsync();
        _http.Dispose();
    }
}
