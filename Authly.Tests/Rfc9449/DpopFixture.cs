using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Authly.Tests.Rfc9449;

/// <summary>
/// One server for DPoP tests, with a confidential client (client_credentials, password, refresh_token; openid for
/// userinfo), a test user, and the requests a DPoP client sends: the token endpoint and userinfo, with any DPoP headers.
/// </summary>
public abstract class DpopFixture : AppFixture
{
    protected const string TokenUrl = AuthlyApp.Issuer + TokenPath;
    protected const string UserInfoPath = "/oidc/userinfo";
    protected const string UserInfoUrl = AuthlyApp.Issuer + UserInfoPath;

    protected (string Id, string Secret) _client;
    protected AuthlyApp.TestUser _user = null!;

    [OneTimeSetUp]
    public async Task CreateClientAndUserAsync()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync("openid profile read write", ["client_credentials", "password", "refresh_token"]);
        _client = (id, secret!);
        _user = await _app.CreateUserAsync();
    }

    protected AuthenticationHeaderValue ClientBasic => AuthlyApp.Basic(_client.Id, _client.Secret);

    /// <summary>POST /token with the form, optional Basic credentials and every proof as its own DPoP header.</summary>
    protected Task<HttpResponseMessage> TokenAsync(AuthenticationHeaderValue? basic, IEnumerable<string> proofs, params (string Key, string Value)[] form)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, TokenPath) { Content = AuthlyApp.Form(form) };
        request.Headers.Authorization = basic;
        foreach (var proof in proofs) request.Headers.TryAddWithoutValidation("DPoP", proof);
        return _app.CreateClient().SendAsync(request);
    }

    protected Task<HttpResponseMessage> ClientCredentialsAsync(params string[] proofs) =>
        TokenAsync(ClientBasic, proofs, ("grant_type", "client_credentials"), ("scope", "read"));

    /// <summary>The fixture user's tokens through the confidential client (openid for userinfo), bound to <paramref name="key"/>.</summary>
    protected async Task<JsonObject> UserTokensAsync(DpopKey? key, string scope = "openid profile")
    {
        var response = await TokenAsync(ClientBasic, key is null ? [] : [key.Proof("POST", TokenUrl)],
            ("grant_type", "password"), ("username", _user.Username), ("password", _user.Password), ("scope", scope));
        var raw = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.EqualTo(200), raw);
        return JsonNode.Parse(raw)!.AsObject();
    }

    /// <summary>GET /oidc/userinfo with <c>Authorization: scheme token</c> and the given DPoP headers.</summary>
    protected Task<HttpResponseMessage> UserInfoAsync(string scheme, string token, params string[] proofs)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, UserInfoPath);
        request.Headers.TryAddWithoutValidation("Authorization", $"{scheme} {token}");
        foreach (var proof in proofs) request.Headers.TryAddWithoutValidation("DPoP", proof);
        return _app.CreateClient().SendAsync(request);
    }

    protected static string? CnfJkt(string accessToken) =>
        new JsonWebToken(accessToken).TryGetPayloadValue<System.Text.Json.JsonElement>("cnf", out var cnf) ? cnf.GetProperty("jkt").GetString() : null;

    /// <summary>The WWW-Authenticate challenge, as one string.</summary>
    protected static string Challenge(HttpResponseMessage response) => string.Join(", ", response.Headers.WwwAuthenticate.Select(h => h.ToString()));
}
