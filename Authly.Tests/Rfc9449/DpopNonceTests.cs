using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc9449;

/// <summary>RFC 9449 §8 (authorization server) and §9 (resource server) nonces, with AUTHLY_DPOP_NONCE=on.</summary>
[TestFixture, Category("RFC9449")]
public sealed class DpopNonceTests : DpopFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["AUTHLY_DPOP_NONCE"] = "on" };

    private static string Nonce(HttpResponseMessage response) =>
        response.Headers.TryGetValues("DPoP-Nonce", out var v) ? v.Single() : throw new AssertionException("no DPoP-Nonce header");

    [Test, Description("RFC 9449 §8: a proof without the server's nonce is use_dpop_nonce with a DPoP-Nonce header; the retry with it succeeds")]
    public async Task TokenRequest_WithoutNonce_IsUseDpopNonce_ThenRetryWithNonceSucceeds()
    {
        using var key = DpopKey.Es256();
        var first = await ClientCredentialsAsync(key.Proof("POST", TokenUrl));
        await OAuthAssert.ErrorAsync(first, HttpStatusCode.BadRequest, "use_dpop_nonce");
        var nonce = Nonce(first);

        var second = await ClientCredentialsAsync(key.Proof("POST", TokenUrl, nonce: nonce));
        var body = await AuthlyApp.JsonAsync(second);
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(body["token_type"]?.GetValue<string>(), Is.EqualTo("DPoP"));
        Assert.That(Nonce(second), Is.Not.Empty, "every answer hands out the current nonce");
    }

    [Test, Description("RFC 9449 §8: a nonce the server did not make is refused the same way")]
    public async Task TokenRequest_WithForgedNonce_IsUseDpopNonce()
    {
        using var key = DpopKey.Es256();
        await OAuthAssert.ErrorAsync(await ClientCredentialsAsync(key.Proof("POST", TokenUrl, nonce: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
            HttpStatusCode.BadRequest, "use_dpop_nonce");
    }

    [Test, Description("RFC 9449 §9: at a resource, use_dpop_nonce is 401 with a DPoP challenge and a DPoP-Nonce header")]
    public async Task UserInfo_WithoutNonce_IsUseDpopNonceChallenge()
    {
        using var key = DpopKey.Es256();
        var nonce = Nonce(await ClientCredentialsAsync(key.Proof("POST", TokenUrl)));
        var tokens = await TokenAsync(ClientBasic, [key.Proof("POST", TokenUrl, nonce: nonce)],
            ("grant_type", "password"), ("username", _user.Username), ("password", _user.Password), ("scope", "openid"));
        var access = AuthlyApp.Str(await AuthlyApp.JsonAsync(tokens), "access_token");

        var response = await UserInfoAsync("DPoP", access, key.Proof("GET", UserInfoUrl, access));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "use_dpop_nonce");
        Assert.That(Challenge(response), Does.StartWith("DPoP ").And.Contain("error=\"use_dpop_nonce\""));
        var ok = await UserInfoAsync("DPoP", access, key.Proof("GET", UserInfoUrl, access, nonce: Nonce(response)));
        Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK), await ok.Content.ReadAsStringAsync());
    }
}
