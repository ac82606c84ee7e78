using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;
using Authly.Vault;
using static Authly.Tests.Infrastructure.Issue18Clients;

namespace Authly.Tests.Vault;

/// <summary>
/// Issue 18, the vault handing a service a down-scoped Authly token: a server whose vault keeps tokens of this Authly with
/// scope "openid offline_access read", and services with a token-exchange policy of "read write email". Access tokens
/// may live a day and refresh tokens a day too, so the cap at the entry's refresh token shows.
/// </summary>
internal static class AuthlyTokenSetup
{
    public const string EntryScope = "openid offline_access read";
    public const string PolicyScope = "read write email";

    public static IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["AUTHLY_VAULT_ENCRYPTION_KEY"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
        ["ACCESS_TOKEN_EXPIRE_MINUTES"] = "1440",
        ["REFRESH_TOKEN_EXPIRE_DAYS"] = "1",
    };

    /// <summary>The local provider asks for <see cref="EntryScope"/> when a user connects.</summary>
    public static async Task ConfigureProviderAsync(AuthlyApp app)
    {
        var admin = await app.AdminClientAsync("admin:system:write");
        var response = await admin.PutAsJsonAsync($"/admin/vault/providers/{VaultProvider.LocalName}", new { scopes = EntryScope });
        Assert.That((int)response.StatusCode, Is.EqualTo(200), await response.Content.ReadAsStringAsync());
    }

    public sealed record Service(string Id, string Secret, string Token);

    /// <summary>A confidential client (client_credentials + token exchange) with a vault:read token; with a policy unless told not to.</summary>
    public static async Task<Service> ServiceAsync(AuthlyApp app, bool withPolicy = true)
    {
        var (id, secret) = await app.CreateConfidentialClientAsync("vault:read " + PolicyScope, [TokenExchange, "client_credentials"]);
        if (withPolicy) await SetPolicyAsync(app, id, PolicyScope, ["https://api.example.test"]);
        return new Service(id, secret!, await ClientTokenAsync(app, (id, secret!), "vault:read"));
    }

    /// <summary>A user's entry of this Authly (connect flow), granted by the user in person to <paramref name="grantTo"/>.</summary>
    public static async Task<(VaultApp.User User, Guid Entry)> GrantedEntryAsync(AuthlyApp app, params string[] grantTo)
    {
        var user = await VaultApp.UserAsync(app);
        var entry = await VaultApp.ConnectAsync(app, user, VaultProvider.LocalName, url => VaultApp.ApproveLocallyAsync(app, user, url));
        using var owner = VaultApp.Client(app, user.Token);
        foreach (var client in grantTo)
        {
            var (status, body) = await VaultApp.SendAsync(owner, HttpMethod.Post, $"/api/v1/vault/tokens/{entry}/grants", new { client_id = client });
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        }
        return (user, entry);
    }

    public static async Task<(HttpStatusCode Status, JsonObject Body)> AuthlyTokenAsync(AuthlyApp app, string bearer, Guid entry, object? body = null)
    {
        using var http = VaultApp.Client(app, bearer);
        return await VaultApp.SendAsync(http, HttpMethod.Post, $"/api/v1/vault/tokens/{entry}/authly-token", body ?? new { });
    }

    /// <summary>How many Authly tokens were handed out for the entry, as its access record counts them.</summary>
    public static Task<long> IssuedCountAsync(AuthlyApp app, Guid entry) =>
        app.SqlScalarAsync<long>("SELECT count(*) FROM vault_audit WHERE entry_id = @Entry AND action = 'authly_token' AND outcome = 'ok'", new { Entry = entry });
}
