using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc9449;

/// <summary>RFC 9449 at the token endpoint: proofs checked (§4.3), tokens bound (§5, §6.1), introspection (§6.2), metadata (§5.1, §5.2).</summary>
[TestFixture, Category("RFC9449")]
public sealed class DpopTokenEndpointTests : DpopFixture
{
    [Test, Description("RFC 9449 §5, §6.1: a request with a valid proof gets token_type DPoP and an access token with cnf.jkt of the proof's key")]
    public async Task TokenRequest_WithValidProof_IssuesDpopTokenBoundToTheKey()
    {
        foreach (var key in new[] { DpopKey.Es256(), DpopKey.Rsa("PS256"), DpopKey.Rsa("RS256") })
        using (key)
        {
            var raw = await (await ClientCredentialsAsync(key.Proof("POST", TokenUrl))).Content.ReadAsStringAsync();
            var body = JsonNode.Parse(raw)!.AsObject();
            Assert.That(body["token_type"]?.GetValue<string>(), Is.EqualTo("DPoP"), $"{key.Algorithm}: {raw}");
            Assert.That(CnfJkt(AuthlyApp.Str(body, "access_token")), Is.EqualTo(key.Thumbprint), key.Algorithm);
        }
    }

    [Test, Description("RFC 9449 §5: without a proof the token stays a bearer token, with no cnf")]
    public async Task TokenRequest_WithoutProof_IssuesBearerTokenWithoutCnf()
    {
        var body = await OAuthAssert.TokenAsync(await ClientCredentialsAsync());
        Assert.That(CnfJkt(AuthlyApp.Str(body, "access_token")), Is.Null);
    }

    [Test, Description("RFC 9449 §6.2: introspection of a bound token shows cnf.jkt and token_type DPoP")]
    public async Task Introspection_OfBoundToken_ShowsCnfAndTokenType()
    {
        using var key = DpopKey.Es256();
        var token = AuthlyApp.Str(await AuthlyApp.JsonAsync(await ClientCredentialsAsync(key.Proof("POST", TokenUrl))), "access_token");
        var body = await AuthlyApp.JsonAsync(await _app.PostFormAsync(IntrospectPath, ClientBasic, ("token", token)));
        Assert.Multiple(() =>
        {
            Assert.That(body["active"]?.GetValue<bool>(), Is.True, body.ToJsonString());
            Assert.That(body["token_type"]?.GetValue<string>(), Is.EqualTo("DPoP"));
            Assert.That(body["cnf"]?["jkt"]?.GetValue<string>(), Is.EqualTo(key.Thumbprint));
        });
    }

    [Test, Description("RFC 9449 §4.3 check 1: more than one DPoP header is refused")]
    public async Task TokenRequest_WithTwoProofs_IsInvalidDpopProof()
    {
        using var key = DpopKey.Es256();
        await OAuthAssert.ErrorAsync(await ClientCredentialsAsync(key.Proof("POST", TokenUrl), key.Proof("POST", TokenUrl)),
            HttpStatusCode.BadRequest, "invalid_dpop_proof");
    }

    [TestCase("jwt", Description = "RFC 9449 §4.3 check 4: typ must be dpop+jwt")]
    [TestCase("at+jwt", Description = "RFC 9449 §4.3 check 4: typ must be dpop+jwt")]
    public async Task TokenRequest_ProofWithWrongTyp_IsInvalidDpopProof(string typ)
    {
        using var key = DpopKey.Es256();
        await OAuthAssert.ErrorAsync(await ClientCredentialsAsync(key.Proof("POST", TokenUrl, typ: typ)), HttpStatusCode.BadRequest, "invalid_dpop_proof");
    }

    [TestCase("not-a-jwt")]
    [TestCase("a.b.c")]
    [TestCase("e30.e30.")]
    [Description("RFC 9449 §4.3 check 2: the header holds one well-formed JWT")]
    public async Task TokenRequest_MalformedProof_IsInvalidDpopProofAndChangesNothing(string proof)
    {
        var before = await _app.StateSnapshotAsync();
        await OAuthAssert.ErrorAsync(await ClientCredentialsAsync(proof), HttpStatusCode.BadRequest, "invalid_dpop_proof");
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
    }

    [Test, Description("RFC 9449 §4.3 check 9: htu is compared without query and fragment, scheme and host case-insensitively")]
    public async Task TokenRequest_ProofHtuWithQueryAndUpperCaseHost_IsAccepted()
    {
        using var key = DpopKey.Es256();
        var response = await ClientCredentialsAsync(key.Proof("POST", "HTTP://LOCALHOST:80" + TokenPath + "?x=1#f"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    [Test, Description("RFC 9449 §5.2: a client registered with dpop_bound_access_tokens must send a proof")]
    public async Task Client_WithDpopBoundAccessTokens_WithoutProof_IsRefused()
    {
        var (id, secret) = await _app.CreateClientAsync(new
        {
            client_name = "dpop client", client_type = "confidential", scope = "read", grant_types = new[] { "client_credentials" },
            dpop_bound_access_tokens = true,
        });
        var basic = AuthlyApp.Basic(id, secret!);
        await OAuthAssert.ErrorAsync(await TokenAsync(basic, [], ("grant_type", "client_credentials")), HttpStatusCode.BadRequest, "invalid_dpop_proof");

        using var key = DpopKey.Es256();
        var ok = await TokenAsync(basic, [key.Proof("POST", TokenUrl)], ("grant_type", "client_credentials"));
        Assert.That((await AuthlyApp.JsonAsync(ok))["token_type"]?.GetValue<string>(), Is.EqualTo("DPoP"));

        // The admin API shows the setting and can turn it off.
        var admin = await _app.AdminClientAsync("admin:clients:read admin:clients:write");
        var view = await AuthlyApp.JsonAsync(await admin.GetAsync($"{AdminClientsPath}/{id}"));
        Assert.That(view["dpop_bound_access_tokens"]?.GetValue<bool>(), Is.True, view.ToJsonString());
        var updated = await AuthlyApp.JsonAsync(await admin.PutAsJsonAsync($"{AdminClientsPath}/{id}", new { dpop_bound_access_tokens = false }));
        Assert.That(updated["dpop_bound_access_tokens"]?.GetValue<bool>(), Is.False, updated.ToJsonString());
        // The change is dropped from this node's client cache at once: bearer tokens again.
        await OAuthAssert.TokenAsync(await TokenAsync(basic, [], ("grant_type", "client_credentials")));
    }

    [Test, Description("RFC 9449 §5: a public client's refresh token is bound to the key; refreshing needs a proof by it")]
    public async Task PublicRefreshToken_IsBoundToTheProofKey()
    {
        using var key = DpopKey.Es256();
        // The first-party CLI (no client authentication) is a public client.
        var first = await AuthlyApp.JsonAsync(await TokenAsync(null, [key.Proof("POST", TokenUrl)],
            ("grant_type", "password"), ("username", _user.Username), ("password", _user.Password), ("scope", "account:read")));
        var refresh = AuthlyApp.Str(first, "refresh_token");
        Assert.That(await _app.SqlScalarAsync<string>("SELECT f.dpop_jkt FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id WHERE t.token_hash = sha256(convert_to(@T, 'UTF8'))",
            new { T = refresh }), Is.EqualTo(key.Thumbprint));

        var second = await TokenAsync(null, [key.Proof("POST", TokenUrl)], ("grant_type", "refresh_token"), ("refresh_token", refresh));
        var body = await AuthlyApp.JsonAsync(second);
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(body["token_type"]?.GetValue<string>(), Is.EqualTo("DPoP"));
        Assert.That(CnfJkt(AuthlyApp.Str(body, "access_token")), Is.EqualTo(key.Thumbprint));
    }

    [Test, Description("RFC 9449 §5: a confidential client's refresh token is not bound (its authentication binds it)")]
    public async Task ConfidentialRefreshToken_IsNotBound()
    {
        using var key = DpopKey.Es256();
        var first = await UserTokensAsync(key, "read");
        var refreshed = await TokenAsync(ClientBasic, [], ("grant_type", "refresh_token"), ("refresh_token", AuthlyApp.Str(first, "refresh_token")));
        var body = await OAuthAssert.TokenAsync(refreshed);
        Assert.That(CnfJkt(AuthlyApp.Str(body, "access_token")), Is.Null);
    }

    [Test, Description("RFC 9449 §5.1: discovery lists the proof algorithms, asymmetric only")]
    public async Task Discovery_ListsDpopSigningAlgorithms()
    {
        var doc = await AuthlyApp.JsonAsync(await _app.CreateClient().GetAsync("/.well-known/openid-configuration"));
        var algs = doc["dpop_signing_alg_values_supported"]!.AsArray().Select(a => a!.GetValue<string>()).ToArray();
        Assert.That(algs, Is.EquivalentTo(new[] { "ES256", "PS256", "RS256" }));
    }
}
