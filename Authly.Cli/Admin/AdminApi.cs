using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Authly.Cli.Admin;

/// <summary>
/// The CLI's HTTP side: the password and refresh grants as the first-party CLI (no client
/// authentication; the server issues such tokens to client_id authly-cli), revocation, and
/// authenticated admin calls that refresh the access token a minute before it expires.
/// Every non-2xx answer becomes a <see cref="CliException"/> through <see cref="ExitCodes.Of(HttpResponseMessage, JsonNode?)"/>.
/// </summary>
public sealed class AdminApi : IDisposable
{
    public const string AllAdminScopes =
        "admin:clients:read admin:clients:write admin:scopes:read admin:scopes:write admin:users:read admin:users:write admin:system:read admin:system:write";

    private static readonly TimeSpan RefreshMargin = TimeSpan.FromSeconds(60);
    private readonly HttpClient _http;

    public CliConfig Config { get; }
    public string BaseUrl { get; }
    public string UrlSource { get; }

    public AdminApi(CliConfig config, string? apiUrlOption)
    {
        Config = config;
        var saved = TokenFile.Read(config.TokenFile);
        (BaseUrl, UrlSource) = config.ApiUrl(apiUrlOption, saved?.ApiUrl);
        _http = new HttpClient { Timeout = config.Timeout };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd($"authly-cli/{Authly.Server.AuthlyWebApp.Version}");
    }

    public void Dispose() => _http.Dispose();

    public async Task<TokenSet> PasswordLoginAsync(string username, string password, string? scope, CancellationToken ct)
    {
        var fields = new Dictionary<string, string> { ["grant_type"] = "password", ["username"] = username, ["password"] = password };
        if (!string.IsNullOrWhiteSpace(scope)) fields["scope"] = scope;
        var tokens = await TokenRequestAsync(fields, username, ct);
        TokenFile.Write(Config.TokenFile, tokens);
        return tokens;
    }

    public async Task<TokenSet> RefreshAsync(TokenSet current, CancellationToken ct)
    {
        if (current.RefreshToken is null) throw new CliException(ExitCodes.Authentication, "No refresh token: run 'authly admin auth login'");
        TokenSet refreshed;
        try
        {
            refreshed = await TokenRequestAsync(new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token", ["refresh_token"] = current.RefreshToken,
            }, current.Username, ct);
        }
        catch (CliException e) when (e.ExitCode is ExitCodes.Validation or ExitCodes.Authentication)
        {
            throw new CliException(ExitCodes.Authentication, $"Session expired or revoked ({e.Message}): run 'authly admin auth login'");
        }
        TokenFile.Write(Config.TokenFile, refreshed);
        return refreshed;
    }

    private async Task<TokenSet> TokenRequestAsync(Dictionary<string, string> fields, string? username, CancellationToken ct)
    {
        using var response = await SendRawAsync(new HttpRequestMessage(HttpMethod.Post, BaseUrl + "/api/v1/oauth/token") { Content = new FormUrlEncodedContent(fields) }, ct);
        var body = await ReadJsonAsync(response, ct);
        if (!response.IsSuccessStatusCode) throw ExitCodes.Of(response, body);
        var o = body as JsonObject ?? throw new CliException(ExitCodes.GeneralError, "The token endpoint did not answer with JSON");
        return new TokenSet
        {
            AccessToken = o["access_token"]?.GetValue<string>() ?? throw new CliException(ExitCodes.GeneralError, "The token endpoint returned no access_token"),
            RefreshToken = o["refresh_token"]?.GetValue<string>(),
            TokenType = o["token_type"]?.GetValue<string>() ?? "Bearer",
            ExpiresAt = DateTimeOffset.UtcNow.AddSeconds(o["expires_in"]?.GetValue<int>() ?? 3600),
            Scope = o["scope"]?.GetValue<string>() ?? "",
            ApiUrl = BaseUrl,
            Username = username,
        };
    }

    /// <summary>RFC 7009: revoking needs no client authentication for the CLI's tokens; an unknown token is still 200.</summary>
    public async Task RevokeAsync(string token, string hint, CancellationToken ct)
    {
        using var response = await SendRawAsync(new HttpRequestMessage(HttpMethod.Post, BaseUrl + "/api/v1/oauth/revoke")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token, ["token_type_hint"] = hint }),
        }, ct);
        if (!response.IsSuccessStatusCode) throw ExitCodes.Of(response, await ReadJsonAsync(response, ct));
    }

    /// <summary>
    /// The saved tokens, refreshed first when the access token expires within a minute. Refresh
    /// tokens rotate and a rotated one presented again revokes the whole family, so two commands
    /// running at once must not both refresh: the refresh happens under an exclusive lock file, and
    /// whoever gets the lock second re-reads the file and finds the tokens already fresh.
    /// </summary>
    public async Task<TokenSet> CurrentTokensAsync(CancellationToken ct)
    {
        var tokens = TokenFile.Read(Config.TokenFile) ?? throw new CliException(ExitCodes.Authentication, "Not logged in: run 'authly admin auth login'");
        if (tokens.ExpiresAt - DateTimeOffset.UtcNow > RefreshMargin) return tokens;
        await using var _ = await TokenFile.LockAsync(Config.TokenFile, ct);
        tokens = TokenFile.Read(Config.TokenFile) ?? throw new CliException(ExitCodes.Authentication, "Not logged in: run 'authly admin auth login'");
        if (tokens.ExpiresAt - DateTimeOffset.UtcNow > RefreshMargin) return tokens;
        if (tokens.RefreshToken is null) throw new CliException(ExitCodes.Authentication, "The access token has expired: run 'authly admin auth login'");
        return await RefreshAsync(tokens, ct);
    }

    public Task<JsonNode?> GetAsync(string path, CancellationToken ct) => SendAsync(HttpMethod.Get, path, null, ct);
    public Task<JsonNode?> PostAsync(string path, object? body, CancellationToken ct) => SendAsync(HttpMethod.Post, path, body, ct);
    public Task<JsonNode?> PutAsync(string path, object? body, CancellationToken ct) => SendAsync(HttpMethod.Put, path, body, ct);
    public Task<JsonNode?> DeleteAsync(string path, CancellationToken ct) => SendAsync(HttpMethod.Delete, path, null, ct);

    public async Task<JsonNode?> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        var tokens = await CurrentTokensAsync(ct);
        var request = new HttpRequestMessage(method, BaseUrl + path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        if (body is not null) request.Content = JsonContent.Create(body);
        using var response = await SendRawAsync(request, ct);
        var json = await ReadJsonAsync(response, ct);
        return response.IsSuccessStatusCode ? json : throw ExitCodes.Of(response, json);
    }

    /// <summary>An unauthenticated GET (health) that reports failures as values, for `status`.</summary>
    public async Task<(int Status, JsonNode? Body)> ProbeAsync(string path, CancellationToken ct)
    {
        try
        {
            using var response = await SendRawAsync(new HttpRequestMessage(HttpMethod.Get, BaseUrl + path), ct);
            return ((int)response.StatusCode, await ReadJsonAsync(response, ct));
        }
        catch (CliException) { return (0, null); }
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, CancellationToken ct)
    {
        using (request)
        {
            try { return await HttpDebug.SendAsync(_http, request, ct); }
            catch (HttpRequestException e) { throw new CliException(ExitCodes.GeneralError, $"Cannot reach the Authly API at {BaseUrl}: {e.Message}"); }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new CliException(ExitCodes.GeneralError, $"The Authly API at {BaseUrl} did not answer within {Config.Timeout.TotalSeconds:0} s");
            }
        }
    }

    private static async Task<JsonNode?> ReadJsonAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        if (string.IsNullOrWhiteSpace(text)) return null;
        try { return JsonNode.Parse(text); }
        catch (System.Text.Json.JsonException) { return null; }
    }
}
