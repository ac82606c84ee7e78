using System.Net;
using Authly.Tests.Infrastructure;
using Authly.Tests.Rfc9449;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 17, RFC 9449 §11: what DPoP exists to stop. A thief holding a proof, a bound access token or a bound refresh
/// token, but not the private key, gets nothing.
/// </summary>
[TestFixture, Category("Attacks"), Category("RFC9449")]
public sealed class DpopAttacks : DpopFixture
{
    [Test, Description("RFC 9449 §11.1: a captured proof replayed at the token endpoint is refused")]
    public async Task ProofReplayed_AtTokenEndpoint_IsRefused()
    {
        using var key = DpopKey.Es256();
        var proof = key.Proof("POST", TokenUrl);
        Assert.That((await ClientCredentialsAsync(proof)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await OAuthAssert.ErrorAsync(await ClientCredentialsAsync(proof), HttpStatusCode.BadRequest, "invalid_dpop_proof", "The DPoP proof was already used");
    }

    [Test, Description("RFC 9449 §11.1: a captured proof replayed at userinfo is refused")]
    public async Task ProofReplayed_AtUserInfo_IsRefused()
    {
        using var key = DpopKey.Es256();
        var access = AuthlyApp.Str(await UserTokensAsync(key), "access_token");
        var proof = key.Proof("GET", UserInfoUrl, access);
        Assert.That((await UserInfoAsync("DPoP", access, proof)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await OAuthAssert.ErrorAsync(await UserInfoAsync("DPoP", access, proof), HttpStatusCode.Unauthorized, "invalid_dpop_proof");
    }

    [Test, Description("RFC 9449 §11.1: a burst of one proof in parallel gets exactly one token; the jti is single use across requests")]
    public async Task ProofBurstInParallel_ExactlyOneGetsThrough()
    {
        using var key = DpopKey.Es256();
        var proof = key.Proof("POST", TokenUrl);
        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => ClientCredentialsAsync(proof)));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.OK), Is.EqualTo(1));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.BadRequest), Is.EqualTo(11));
    }

    [TestCase("POST", AuthlyApp.Issuer + "/api/v1/oauth/introspect", Description = "RFC 9449 §4.3 check 9: a proof for another URL")]
    [TestCase("POST", "https://localhost" + TokenPath, Description = "RFC 9449 §4.3 check 9: another scheme")]
    [TestCase("POST", "http://evil.example" + TokenPath, Description = "RFC 9449 §4.3 check 9: another host")]
    [TestCase("GET", AuthlyApp.Issuer + TokenPath, Description = "RFC 9449 §4.3 check 8: a proof for another method")]
    [TestCase("post", AuthlyApp.Issuer + TokenPath, Description = "RFC 9449 §4.3 check 8: methods are case-sensitive")]
    public async Task ProofForAnotherUrlOrMethod_IsRefused(string method, string url)
    {
        using var key = DpopKey.Es256();
        await OAuthAssert.ErrorAsync(await ClientCredentialsAsync(key.Proof(method, url)), HttpStatusCode.BadRequest, "invalid_dpop_proof");
    }

    [Test, Description("RFC 9449 §4.3 check 9: a proof made for the token endpoint does not open userinfo")]
    public async Task ProofForTokenEndpoint_AtUserInfo_IsRefused()
    {
        using var key = DpopKey.Es256();
        var access = AuthlyApp.Str(await UserTokensAsync(key), "access_token");
        await OAuthAssert.ErrorAsync(await UserInfoAsync("DPoP", access, key.Proof("POST", TokenUrl, access)), HttpStatusCode.Unauthorized, "invalid_dpop_proof");
    }

    [TestCase(-10 * 60, Description = "RFC 9449 §4.3 check 11 / §11.1: a stale iat (a proof kept for later)")]
    [TestCase(10 * 60, Description = "RFC 9449 §4.3 check 11 / §11.1: an iat in the future (a proof made in advance)")]
    public async Task ProofWithIatOutsideWindow_IsRefused(int offsetSeconds)
    {
        using var key = DpopKey.Es256();
        await OAuthAssert.ErrorAsync(await ClientCredentialsAsync(key.Proof("POST", TokenUrl, iat: DateTimeOffset.UtcNow.AddSeconds(offsetSeconds))),
            HttpStatusCode.BadRequest, "invalid_dpop_proof", "The DPoP proof iat is outside the accepted window");
    }

    [Test, Description("RFC 9449 §4.3 check 7: a jwk with private members is refused (and the key is not trusted)")]
    public async Task ProofWithPrivateKeyInHeader_IsRefused()
    {
        foreach (var key in new[] { DpopKey.Es256(), DpopKey.Rsa() })
        using (key)
            await OAuthAssert.ErrorAsync(await ClientCredentialsAsync(key.Proof("POST", TokenUrl, withPrivateKey: true)),
                HttpStatusCode.BadRequest, "invalid_dpop_proof", "The DPoP proof jwk must not contain a private key");
    }

    [TestCase("none", Description = "RFC 9449 §4.3 check 5: alg none")]
    [TestCase("HS256", Description = "RFC 9449 §4.3 check 5: a symmetric alg, keyed with the public key (alg confusion)")]
    [TestCase("ES512", Description = "RFC 9449 §4.3 check 5: an alg not on the list")]
    public async Task ProofWithAlgNotAllowed_IsRefused(string alg)
    {
        using var key = DpopKey.Es256();
        await OAuthAssert.ErrorAsync(await ClientCredentialsAsync(key.ProofWithAlg(alg, "POST", TokenUrl)),
            HttpStatusCode.BadRequest, "invalid_dpop_proof", "The DPoP proof alg is not supported");
    }

    [Test, Description("RFC 9449 §4.3 check 6: a proof whose signature is by another key than its jwk is refused")]
    public async Task ProofSignedByAnotherKey_IsRefused()
    {
        using var key = DpopKey.Es256();
        using var other = DpopKey.Es256();
        var proof = key.Proof("POST", TokenUrl).Split('.');
        var forged = other.Proof("POST", TokenUrl).Split('.');
        await OAuthAssert.ErrorAsync(await ClientCredentialsAsync($"{proof[0]}.{proof[1]}.{forged[2]}"),
            HttpStatusCode.BadRequest, "invalid_dpop_proof", "The DPoP proof signature is invalid");
    }

    [Test, Description("RFC 9449 §7.1 / §4.3 check 13: a stolen bound token with a proof by the thief's own key is refused")]
    public async Task BoundTokenWithProofByWrongKey_IsRefused()
    {
        using var key = DpopKey.Es256();
        using var thief = DpopKey.Es256();
        var access = AuthlyApp.Str(await UserTokensAsync(key), "access_token");
        var response = await UserInfoAsync("DPoP", access, thief.Proof("GET", UserInfoUrl, access));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_dpop_proof");
        Assert.That(Challenge(response), Does.StartWith("DPoP "));
    }

    [Test, Description("RFC 9449 §4.3 check 12 / §7: a proof without ath, or with the ath of another token, is refused")]
    public async Task ProofWithoutOrWithWrongAth_IsRefused()
    {
        using var key = DpopKey.Es256();
        var access = AuthlyApp.Str(await UserTokensAsync(key), "access_token");
        var other = AuthlyApp.Str(await UserTokensAsync(key), "access_token");
        await OAuthAssert.ErrorAsync(await UserInfoAsync("DPoP", access, key.Proof("GET", UserInfoUrl, access, withoutAth: true)),
            HttpStatusCode.Unauthorized, "invalid_dpop_proof", "The DPoP proof ath does not match the access token");
        await OAuthAssert.ErrorAsync(await UserInfoAsync("DPoP", access, key.Proof("GET", UserInfoUrl, other)),
            HttpStatusCode.Unauthorized, "invalid_dpop_proof", "The DPoP proof ath does not match the access token");
    }

    [Test, Description("RFC 9449 §7.1: a bound token presented as Bearer is refused with a DPoP challenge, at userinfo and the account API")]
    public async Task BoundTokenUsedAsBearer_IsRefused()
    {
        using var key = DpopKey.Es256();
        var access = AuthlyApp.Str(await UserTokensAsync(key, "openid profile"), "access_token");
        var response = await UserInfoAsync("Bearer", access);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_token");
        Assert.That(Challenge(response), Does.StartWith("DPoP ").And.Contain("error=\"invalid_token\""));

        // Every other bearer-only API refuses it too (here the account API, for a first-party bound token).
        var firstParty = AuthlyApp.Str(await AuthlyApp.JsonAsync(await TokenAsync(null, [key.Proof("POST", TokenUrl)],
            ("grant_type", "password"), ("username", _user.Username), ("password", _user.Password), ("scope", "account:read"))), "access_token");
        var me = await _app.BearerClient(firstParty).GetAsync(UsersPath + "me");
        Assert.That(me.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), await me.Content.ReadAsStringAsync());
    }

    [Test, Description("RFC 9449 §5: a stolen bound refresh token is refused with another key or without a proof, and is not burnt")]
    public async Task BoundRefreshToken_WithAnotherKeyOrWithoutProof_IsRefusedAndStaysUsable()
    {
        using var key = DpopKey.Es256();
        using var thief = DpopKey.Es256();
        var tokens = await AuthlyApp.JsonAsync(await TokenAsync(null, [key.Proof("POST", TokenUrl)],
            ("grant_type", "password"), ("username", _user.Username), ("password", _user.Password), ("scope", "account:read")));
        var refresh = AuthlyApp.Str(tokens, "refresh_token");

        await OAuthAssert.ErrorAsync(await TokenAsync(null, [thief.Proof("POST", TokenUrl)], ("grant_type", "refresh_token"), ("refresh_token", refresh)),
            HttpStatusCode.BadRequest, "invalid_grant", "The refresh token is bound to another DPoP key");
        await OAuthAssert.ErrorAsync(await TokenAsync(null, [], ("grant_type", "refresh_token"), ("refresh_token", refresh)),
            HttpStatusCode.BadRequest, "invalid_dpop_proof", "A DPoP proof is required to use this refresh token");

        // The rightful holder's next refresh is a plain rotation, not reuse: the thief burnt nothing.
        var ok = await TokenAsync(null, [key.Proof("POST", TokenUrl)], ("grant_type", "refresh_token"), ("refresh_token", refresh));
        Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK), await ok.Content.ReadAsStringAsync());
    }
}
