using System.Net;
using System.Net.Http.Json;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 15, the vault: a refresh token is bound to the client it was issued to (RFC 6749 §6). Storing one issued to
/// another client than the vault's own at the provider is refused at store time with the reason, instead of a
/// misleading UPSTREAM_CLIENT_REJECTED at the first mint; nothing is stored, so nobody can mint with it, and the
/// token is neither burnt nor revoked for the client that owns it.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class VaultTokenClientAttacks : AppFixture
{
    private const string VaultScopes = "vault:read vault:write";

    [Test, Description("RFC 6749 §6 / issue 15: another client's refresh token is refused at store time and stays usable by its own client")]
    public async Task StoringARefreshTokenOfAnotherClient_IsRefusedWithTheReason_AndStoresNothing()
    {
        var client = await _app.CreateConfidentialClientAsync($"read {VaultScopes}", ["password", "refresh_token"]);
        var (id, secret) = (client.Id, client.Secret!);
        var user = await _app.RegisterUserAsync();
        var tokens = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(id, secret),
            ("grant_type", "password"), ("username", user.Username), ("password", user.Password), ("scope", VaultScopes)));
        var refresh = AuthlyApp.Str(tokens, "refresh_token");
        using var http = _app.BearerClient(AuthlyApp.Str(tokens, "access_token"));

        var response = await http.PostAsJsonAsync("/api/v1/vault/tokens", new { provider = "authly", purpose = "stolen", refresh_token = refresh });
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(((int)response.StatusCode, AuthlyApp.Str(body, "error_code"), AuthlyApp.Str(body, "field")),
            Is.EqualTo((400, "TOKEN_CLIENT_MISMATCH", "refresh_token")), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "detail"), Does.Contain("another client").And.Contain("vault"));
        Assert.That(body.ToJsonString(), Does.Not.Contain(refresh), "the token is not echoed");

        var stored = await _app.SqlScalarAsync<long>("SELECT count(*) FROM vault_entries WHERE user_id = @Id", new { Id = user.Id });
        Assert.That(stored, Is.Zero, "nothing was stored, so there is nothing to mint with");
        var refreshed = await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(id, secret), ("grant_type", "refresh_token"), ("refresh_token", refresh));
        Assert.That(refreshed.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the check neither burnt nor revoked the owner's token");
    }

    [Test, Description("Issue 15: a token the provider does not know is stored as before (it fails at mint with invalid_grant)")]
    public async Task StoringAnUnknownToken_IsStillAccepted()
    {
        var c = await _app.CreateConfidentialClientAsync($"read {VaultScopes}", ["password", "refresh_token"]);
        var user = await _app.RegisterUserAsync();
        var tokens = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(c.Id, c.Secret!),
            ("grant_type", "password"), ("username", user.Username), ("password", user.Password), ("scope", VaultScopes)));
        using var http = _app.BearerClient(AuthlyApp.Str(tokens, "access_token"));
        var response = await http.PostAsJsonAsync("/api/v1/vault/tokens", new { provider = "authly", purpose = "unknown", refresh_token = "rt-" + Guid.NewGuid().ToString("N") });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
    }
}
