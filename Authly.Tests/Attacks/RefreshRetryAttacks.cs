using System.Net;
using System.Text;
using Authly.Security;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// The refresh retry window (AUTHLY_REFRESH_RETRY_GRACE_SECONDS, issue 12 finding 5) must not become a way around
/// rotation (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2): only the client that rotated the token, repeating the same request
/// on the latest rotation of a live family, gets the stored answer; and the stored answer yields no token to a
/// database reader.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class RefreshRetryAttacks : AppFixture
{
    private AuthlyApp.TestUser _user = null!;
    private string _public = null!;
    private (string Id, string Secret) _confidential;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _user = await _app.CreateUserAsync();
        (_public, _) = await _app.CreateClientAsync(new { client_name = "spa", client_type = "public", scope = "read", grant_types = new[] { "password", "refresh_token" } });
        var c = await _app.CreateConfidentialClientAsync("read", ["password", "refresh_token"]);
        _confidential = (c.Id, c.Secret!);
    }

    /// <summary>The legitimate public client logs in and rotates once: (first refresh token, the answer of its rotation).</summary>
    private async Task<(string Refresh0, string Access1, string Refresh1)> RotatedOnceAsync()
    {
        var login = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("client_id", _public),
            ("username", _user.Username), ("password", _user.Password)));
        var refresh0 = AuthlyApp.Str(login, "refresh_token");
        var rotated = await OAuthAssert.TokenAsync(await RefreshAsPublicAsync(refresh0));
        return (refresh0, AuthlyApp.Str(rotated, "access_token"), AuthlyApp.Str(rotated, "refresh_token"));
    }

    private Task<HttpResponseMessage> RefreshAsPublicAsync(string refresh) =>
        _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", _public));

    private async Task<bool> IsActiveAsync(string token) =>
        (await AuthlyApp.JsonAsync(await _app.PostFormAsync("/api/v1/oauth/introspect", ("token", token))))["active"]!.GetValue<bool>();

    [Test, Description("RFC 6749 §6: within the window another client replaying the rotated token gets nothing")]
    public async Task OtherClient_ReplayingRotatedTokenWithinTheWindow_GetsNothing()
    {
        var (refresh0, access1, refresh1) = await RotatedOnceAsync();

        var asOther = await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(_confidential.Id, _confidential.Secret),
            ("grant_type", "refresh_token"), ("refresh_token", refresh0));
        var body = await OAuthAssert.ErrorAsync(asOther, HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(body.ToJsonString(), Does.Not.Contain(access1).And.Not.Contain(refresh1));
        var noClient = await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("refresh_token", refresh0));
        Assert.That(await noClient.Content.ReadAsStringAsync(), Does.Not.Contain(access1).And.Not.Contain(refresh1));
        Assert.That((int)noClient.StatusCode, Is.AnyOf(400, 401));
    }

    [Test, Description("RFC 9700 §4.14.2: a stolen token replayed after the window revokes the family, the legitimate new tokens included")]
    public async Task StolenToken_ReplayedAfterTheWindow_RevokesTheFamily()
    {
        var (refresh0, access1, refresh1) = await RotatedOnceAsync();
        await _app.SqlScalarAsync<int>("UPDATE refresh_tokens SET rotated_at = now() - interval '1 minute' WHERE token_hash = @Hash RETURNING 1",
            new { Hash = OpaqueToken.Hash(refresh0) });

        var replay = await RefreshAsPublicAsync(refresh0);
        var body = await OAuthAssert.ErrorAsync(replay, HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(body.ToJsonString(), Does.Not.Contain(access1));
        Assert.That(await IsActiveAsync(access1), Is.False);
        Assert.That(await IsActiveAsync(refresh1), Is.False);
        await OAuthAssert.ErrorAsync(await RefreshAsPublicAsync(refresh1), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Test, Description("RFC 9700 §4.14.2: once the family is revoked, a replay within the window gets invalid_grant, not the stored answer")]
    public async Task Replay_AfterFamilyRevocation_WithinTheWindow_ReturnsInvalidGrant()
    {
        var (refresh0, access1, refresh1) = await RotatedOnceAsync();
        var revoke = await _app.PostFormAsync("/api/v1/oauth/revoke", ("token", refresh1), ("client_id", _public));
        Assert.That(revoke.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var body = await OAuthAssert.ErrorAsync(await RefreshAsPublicAsync(refresh0), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(body.ToJsonString(), Does.Not.Contain(access1).And.Not.Contain(refresh1));
        Assert.That(await _app.SqlScalarAsync<long>("""
            SELECT count(*) FROM refresh_tokens WHERE retry_response IS NOT NULL
              AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = @Hash)
            """, new { Hash = OpaqueToken.Hash(refresh0) }), Is.Zero, "a revoked family keeps no stored answer");
    }

    [Test, Description("Issue14 (sql/0010): after many rotations the family keeps one stored answer, on its current token; replaying an older token within the window is reuse and opens none")]
    public async Task Issue14_OlderTokenReplayedWithinTheWindow_AfterManyRotations_IsReuse()
    {
        var (refresh0, _, refresh1) = await RotatedOnceAsync();
        var tokens = new List<string> { refresh0, refresh1 };
        string access = "";
        for (var i = 0; i < 4; i++)
        {
            var rotated = await OAuthAssert.TokenAsync(await RefreshAsPublicAsync(tokens[^1]));
            (access, var next) = (AuthlyApp.Str(rotated, "access_token"), AuthlyApp.Str(rotated, "refresh_token"));
            tokens.Add(next);
        }
        var current = tokens[^1];
        Assert.That(await _app.SqlScalarAsync<string>("""
            SELECT string_agg(encode(token_hash, 'hex'), ',') FROM refresh_tokens WHERE retry_response IS NOT NULL
              AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = @Hash)
            """, new { Hash = OpaqueToken.Hash(refresh0) }), Is.EqualTo(Convert.ToHexStringLower(OpaqueToken.Hash(current))),
            "one stored answer per family, on the row the latest rotation issued");

        // tokens[^3] was rotated two rotations ago, within the window: its successor is rotated too, so it is reuse.
        var replay = await RefreshAsPublicAsync(tokens[^3]);
        var body = await OAuthAssert.ErrorAsync(replay, HttpStatusCode.BadRequest, "invalid_grant");
        Assert.That(body.ToJsonString(), Does.Not.Contain(access).And.Not.Contain(current));
        Assert.That(await IsActiveAsync(access), Is.False, "reuse revokes the family's live access token");
        await OAuthAssert.ErrorAsync(await RefreshAsPublicAsync(current), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Test, Description("Issue12_Finding5: a database reader finds no token in any column, the sealed retry answer included")]
    public async Task DatabaseReader_FindsNoTokenInTheStoredAnswer()
    {
        var (refresh0, access1, refresh1) = await RotatedOnceAsync();
        // The answer of a rotation is stored on the row it issued (sql/0010).
        Assert.That(await _app.SqlScalarAsync<long>("""
            SELECT count(*) FROM refresh_tokens WHERE retry_response IS NOT NULL
              AND id = (SELECT replaced_by FROM refresh_tokens WHERE token_hash = @Hash)
            """, new { Hash = OpaqueToken.Hash(refresh0) }), Is.EqualTo(1), "precondition: the rotation's answer is stored");

        // Every column of every row, as text; bytea shows as hex, so look for the hex of each token too.
        var dump = await _app.SqlScalarAsync<string>("""
            SELECT concat_ws(E'\n',
                (SELECT string_agg(t::text, E'\n') FROM refresh_tokens t),
                (SELECT string_agg(f::text, E'\n') FROM refresh_token_families f),
                (SELECT string_agg(r::text, E'\n') FROM revoked_tokens r))
            """);
        var signature = access1.Split('.')[2];
        foreach (var secret in new[] { refresh0, refresh1, access1, signature })
        {
            Assert.That(dump, Does.Not.Contain(secret));
            Assert.That(dump, Does.Not.Contain(Convert.ToHexStringLower(Encoding.UTF8.GetBytes(secret))));
            Assert.That(dump, Does.Not.Contain(Convert.ToBase64String(Encoding.UTF8.GetBytes(secret))));
        }
    }
}
