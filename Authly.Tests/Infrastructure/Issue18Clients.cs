using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Authly.Tests.Infrastructure;

/// <summary>Issue 18 helpers: initial access tokens, dynamic registration, token exchange policies and requests.</summary>
public static class Issue18Clients
{
    public const string RegisterPath = "/api/v1/oauth/register";
    public const string TokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange";
    public const string AccessTokenType = "urn:ietf:params:oauth:token-type:access_token";
    public const string RefreshTokenType = "urn:ietf:params:oauth:token-type:refresh_token";
    public const string IdTokenType = "urn:ietf:params:oauth:token-type:id_token";
    public const string JwtType = "urn:ietf:params:oauth:token-type:jwt";

    /// <summary>A new initial access token made through the admin API.</summary>
    public static async Task<string> InitialAccessTokenAsync(AuthlyApp app, int? maxUses = null, int? expiresIn = null)
    {
        var admin = await app.AdminClientAsync("admin:clients:write");
        var response = await admin.PostAsJsonAsync("/admin/registration-tokens", new { description = "test", max_uses = maxUses, expires_in = expiresIn });
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(200), body);
        return JsonNode.Parse(body)!["initial_access_token"]!.GetValue<string>();
    }

    /// <summary>POST /api/v1/oauth/register with <paramref name="metadata"/> (an anonymous object) and an optional bearer token.</summary>
    public static Task<HttpResponseMessage> RegisterRawAsync(AuthlyApp app, object metadata, string? bearer)
    {
        var http = app.CreateClient();
        if (bearer is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return http.PostAsJsonAsync(RegisterPath, metadata);
    }

    /// <summary>A confidential client_credentials client registered dynamically; asserts 201.</summary>
    public static async Task<JsonObject> RegisterAsync(AuthlyApp app, object? metadata = null, string? bearer = null)
    {
        bearer ??= await InitialAccessTokenAsync(app);
        var response = await RegisterRawAsync(app, metadata ?? new
        {
            client_name = "dcr client", grant_types = new[] { "client_credentials" }, response_types = Array.Empty<string>(), scope = "read",
        }, bearer);
        var body = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(201), body);
        return JsonNode.Parse(body)!.AsObject();
    }

    public static HttpRequestMessage Management(HttpMethod method, string clientId, string? token, object? body = null)
    {
        var request = new HttpRequestMessage(method, $"{RegisterPath}/{Uri.EscapeDataString(clientId)}");
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = JsonContent.Create(body);
        return request;
    }

    /// <summary>Sets a client's token exchange policy through the admin API.</summary>
    public static async Task SetPolicyAsync(AuthlyApp app, string clientId, string scope, string[]? audiences = null, bool requireActor = false)
    {
        var admin = await app.AdminClientAsync("admin:clients:write");
        var response = await admin.PutAsJsonAsync($"/admin/clients/{clientId}/token-exchange", new { scope, audiences = audiences ?? [], require_actor = requireActor });
        Assert.That((int)response.StatusCode, Is.EqualTo(200), await response.Content.ReadAsStringAsync());
    }

    /// <summary>A confidential client allowed to exchange tokens (and to get its own actor token) with a policy.</summary>
    public static async Task<(string Id, string Secret)> ExchangeClientAsync(AuthlyApp app, string scope = "read write", string[]? audiences = null, bool requireActor = false)
    {
        var (id, secret) = await app.CreateConfidentialClientAsync(scope, [TokenExchange, "client_credentials"]);
        await SetPolicyAsync(app, id, scope, audiences, requireActor);
        return (id, secret!);
    }

    public static Task<HttpResponseMessage> ExchangeAsync(AuthlyApp app, (string Id, string Secret) client, params (string, string)[] fields) =>
        app.PostFormAsync(TokenPath, AuthlyApp.Basic(client.Id, client.Secret), [("grant_type", TokenExchange), .. fields]);

    /// <summary>The client's own client_credentials access token (its actor token).</summary>
    public static async Task<string> ClientTokenAsync(AuthlyApp app, (string Id, string Secret) client, string scope = "read")
    {
        var body = await OAuthAssert.TokenAsync(await app.PostFormAsync(TokenPath, AuthlyApp.Basic(client.Id, client.Secret),
            ("grant_type", "client_credentials"), ("scope", scope)));
        return AuthlyApp.Str(body, "access_token");
    }

    /// <summary>A user's access token with <paramref name="scope"/> (through the app's script client).</summary>
    public static async Task<string> UserTokenAsync(AuthlyApp app, AuthlyApp.TestUser user, string scope = "read write") =>
        AuthlyApp.Str(await app.PasswordTokenAsync(user.Username, user.Password, scope), "access_token");

    /// <summary>The JSON payload of a JWT, unverified (the tests read what the server wrote).</summary>
    public static JsonObject Payload(string jwt)
    {
        var part = jwt.Split('.')[1];
        return JsonNode.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(part))!.AsObject();
    }
}
