using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc9449;

/// <summary>RFC 9449 §7 at userinfo, Authly's own protected resource: the DPoP scheme with a proof carrying ath.</summary>
[TestFixture, Category("RFC9449")]
public sealed class DpopResourceTests : DpopFixture
{
    [Test, Description("RFC 9449 §7.1: a bound token with the DPoP scheme and a proof (ath) by its key is accepted")]
    public async Task UserInfo_WithDpopSchemeAndProof_ReturnsClaims()
    {
        using var key = DpopKey.Es256();
        var access = AuthlyApp.Str(await UserTokensAsync(key), "access_token");
        var response = await UserInfoAsync("DPoP", access, key.Proof("GET", UserInfoUrl, access));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(body["sub"]?.GetValue<string>(), Is.EqualTo(_user.Id.ToString()));
    }

    [Test, Description("RFC 9449 §7.1: an unbound token is still a bearer token at userinfo")]
    public async Task UserInfo_UnboundTokenAsBearer_StillWorks()
    {
        var access = AuthlyApp.Str(await UserTokensAsync(null), "access_token");
        var response = await UserInfoAsync("Bearer", access);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    [Test, Description("RFC 9449 §7.1: the DPoP scheme with a token that is not bound is invalid_token, with a DPoP challenge")]
    public async Task UserInfo_UnboundTokenWithDpopScheme_IsInvalidToken()
    {
        using var key = DpopKey.Es256();
        var access = AuthlyApp.Str(await UserTokensAsync(null), "access_token");
        var response = await UserInfoAsync("DPoP", access, key.Proof("GET", UserInfoUrl, access));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_token");
        Assert.That(Challenge(response), Does.StartWith("DPoP ").And.Contain("error=\"invalid_token\"").And.Contain("algs=\"ES256 PS256 RS256\""));
    }

    [Test, Description("RFC 9449 §7.1: the DPoP scheme without a proof is invalid_dpop_proof, 401 with a DPoP challenge")]
    public async Task UserInfo_DpopSchemeWithoutProof_IsInvalidDpopProof()
    {
        using var key = DpopKey.Es256();
        var access = AuthlyApp.Str(await UserTokensAsync(key), "access_token");
        var response = await UserInfoAsync("DPoP", access);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_dpop_proof");
        Assert.That(Challenge(response), Does.StartWith("DPoP ").And.Contain("error=\"invalid_dpop_proof\""));
    }
}
