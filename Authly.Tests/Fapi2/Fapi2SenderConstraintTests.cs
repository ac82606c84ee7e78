using System.Net;
using System.Text.Json;
using Authly.Tests.Infrastructure;
using Authly.Tests.Rfc7523;

namespace Authly.Tests.Fapi2;

/// <summary>
/// FAPI 2.0 Security Profile §5.3.2.1 (sender-constrained access tokens) for a client registered with
/// <c>profile: fapi2</c>: its token requests need a DPoP proof (RFC 9449), and what it gets is bound to that key.
/// </summary>
[TestFixture, Category("FAPI2")]
public sealed class Fapi2SenderConstraintTests : AppFixture
{
    private const string TokenUrl = AuthlyApp.Issuer + TokenPath;

    private async Task<HttpResponseMessage> ClientCredentialsAsync(ClientKeyPair key, string clientId, string? proof)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, TokenPath)
        {
            Content = AuthlyApp.Form([("grant_type", "client_credentials"), .. ClientKeyPair.Fields(key.Assertion(clientId, TokenUrl))]),
        };
        if (proof is not null) request.Headers.TryAddWithoutValidation("DPoP", proof);
        return await _app.CreateClient().SendAsync(request);
    }

    [Test, Description("FAPI 2.0 §5.3.2.1: a fapi2 client's token request without a DPoP proof is refused and issues nothing")]
    public async Task Fapi2Client_TokenRequestWithoutProof_IsRefused()
    {
        using var key = ClientKeyPair.Es256();
        var clientId = await PrivateKeyJwtTests.CreateKeyClientAsync(_app, ClientKeyPair.Jwks(key), "read", new { profile = "fapi2" });
        var response = await ClientCredentialsAsync(key, clientId, proof: null);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_dpop_proof");
    }

    [Test, Description("FAPI 2.0 §5.3.2.1 / RFC 9449 §6.1: with a proof, the fapi2 client's access token is a DPoP token bound to the proof's key")]
    public async Task Fapi2Client_TokenRequestWithProof_GetsABoundToken()
    {
        using var key = ClientKeyPair.Es256();
        using var dpop = DpopKey.Es256();
        var clientId = await PrivateKeyJwtTests.CreateKeyClientAsync(_app, ClientKeyPair.Jwks(key), "read", new { profile = "fapi2" });
        var response = await ClientCredentialsAsync(key, clientId, dpop.Proof("POST", TokenUrl));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(AuthlyApp.Str(body, "token_type"), Is.EqualTo("DPoP"));
        var jwt = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(AuthlyApp.Str(body, "access_token"));
        Assert.That(jwt.GetPayloadValue<JsonElement>("cnf").GetProperty("jkt").GetString(), Is.EqualTo(dpop.Thumbprint));
    }

    [Test, Description("FAPI 2.0 applies per client: the same request from a private_key_jwt client without the profile still gets a bearer token")]
    public async Task ClientWithoutProfile_TokenRequestWithoutProof_GetsBearer()
    {
        using var key = ClientKeyPair.Es256();
        var clientId = await PrivateKeyJwtTests.CreateKeyClientAsync(_app, ClientKeyPair.Jwks(key), "read");
        var body = await OAuthAssert.TokenAsync(await ClientCredentialsAsync(key, clientId, proof: null));
        Assert.That(AuthlyApp.Str(body, "token_type"), Is.EqualTo("Bearer"));
    }
}
