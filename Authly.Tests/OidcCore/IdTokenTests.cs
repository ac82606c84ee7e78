using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Tests.OidcCore;

/// <summary>OIDC Core §2 and §3.1.3.6-7: what the ID token says, checked against the JWKS, the session and the access token.</summary>
[TestFixture, Category("OIDC")]
public sealed class IdTokenTests : RelyingPartyFixture
{
    private async Task<(JsonObject Tokens, JsonWebToken IdToken)> TokensAsync(BrowserFlow browser, TestUsers.TestUser user, string scope = "openid profile email", string? nonce = "n-0S6_WzA2Mj")
    {
        var tokens = await browser.TokensAsync(new BrowserFlow.Request(_clientId, Redirect, scope) { Nonce = nonce }, user);
        return (tokens, new JsonWebToken(AuthlyApp.Str(tokens, "id_token")));
    }

    private async Task<IList<JsonWebKey>> JwksAsync()
    {
        var json = await _app.CreateClient().GetStringAsync("/.well-known/jwks.json");
        return JsonWebKeySet.Create(json).Keys;
    }

    [Test, Description("OIDC Core §3.1.3.7 steps 2, 3, 6-9: signature, iss, aud, exp, iat")]
    public async Task IdToken_IsSignedByJwksKeyWithIssuerAudienceAndLifetime()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var (tokens, idToken) = await TokensAsync(browser, user);
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(AuthlyApp.Str(tokens, "id_token"), new TokenValidationParameters
        {
            ValidIssuer = AuthlyApp.Issuer,
            ValidAudience = _clientId,
            IssuerSigningKeys = await JwksAsync(),
            ValidAlgorithms = ["RS256"],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
        });
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.Multiple(() =>
        {
            Assert.That(result.IsValid, Is.True, result.Exception?.Message);
            Assert.That(idToken.Alg, Is.EqualTo("RS256"));
            Assert.That(idToken.Kid, Is.Not.Empty);
            Assert.That(idToken.Audiences, Is.EqualTo(new[] { _clientId }));
            Assert.That(idToken.Issuer, Is.EqualTo(AuthlyApp.Issuer));
            Assert.That(idToken.Subject, Is.EqualTo(user.Id.ToString()));
            Assert.That(idToken.GetPayloadValue<long>("iat"), Is.InRange(now - 60, now + 5));
            Assert.That(idToken.GetPayloadValue<long>("exp"), Is.GreaterThan(idToken.GetPayloadValue<long>("iat")));
            Assert.That(idToken.GetPayloadValue<string>("azp"), Is.EqualTo(_clientId));
        });
    }

    [Test, Description("OIDC Core §3.1.2.1, §3.1.3.7 step 11: nonce echoed exactly")]
    public async Task IdToken_WithNonceInRequest_EchoesNonce()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var (_, idToken) = await TokensAsync(browser, user, nonce: "nonce with spaces & symbols/é");
        Assert.That(idToken.GetPayloadValue<string>("nonce"), Is.EqualTo("nonce with spaces & symbols/é"));
    }

    [Test, Description("OIDC Core §2: nonce only when the request had one")]
    public async Task IdToken_WithoutNonceInRequest_HasNoNonce()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var (_, idToken) = await TokensAsync(browser, user, nonce: null);
        Assert.That(idToken.TryGetPayloadValue<string>("nonce", out _), Is.False);
    }

    [Test, Description("OIDC Core §3.1.3.6: at_hash is the left half of SHA-256 of the access token, base64url")]
    public async Task IdToken_AtHash_MatchesAccessToken()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var (tokens, idToken) = await TokensAsync(browser, user);
        var hash = SHA256.HashData(Encoding.ASCII.GetBytes(AuthlyApp.Str(tokens, "access_token")));
        Assert.That(idToken.GetPayloadValue<string>("at_hash"), Is.EqualTo(Base64Url.EncodeToString(hash.AsSpan(0, 16))));
    }

    [Test, Description("OIDC Core §2: auth_time is when the user authenticated; OIDC Session Management: sid names the session")]
    public async Task IdToken_AuthTimeAndSid_MatchTheLoginSession()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var (_, idToken) = await TokensAsync(browser, user);
        var session = await browser.SessionCheckAsync();
        Assert.Multiple(() =>
        {
            Assert.That(session["active"]!.GetValue<bool>(), Is.True);
            Assert.That(idToken.GetPayloadValue<string>("sid"), Is.EqualTo(AuthlyApp.Str(session, "sid")));
            Assert.That(idToken.GetPayloadValue<long>("auth_time"), Is.EqualTo(session["auth_time"]!.GetValue<long>()));
        });
    }

    [Test, Description("OIDC Core §2: auth_time is the real login time, not the time the code or token was issued")]
    public async Task IdToken_FromLaterAuthorizationInSameSession_KeepsOriginalAuthTime()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        await TokensAsync(browser, user);
        // The login happened an hour ago (moved in the database, never by sleeping).
        await browser.ExecuteSqlAsync("UPDATE sessions SET auth_time = auth_time - interval '1 hour' WHERE user_id = @Id", new { user.Id });
        var session = await browser.SessionCheckAsync();
        var (_, idToken) = await TokensAsync(browser, user);
        var loginTime = session["auth_time"]!.GetValue<long>();
        Assert.Multiple(() =>
        {
            Assert.That(idToken.GetPayloadValue<long>("auth_time"), Is.EqualTo(loginTime));
            Assert.That(idToken.GetPayloadValue<long>("iat") - loginTime, Is.GreaterThanOrEqualTo(3600));
        });
    }

    [Test, Description("OIDC Core §5.4: the email scope releases email and email_verified; profile releases profile claims")]
    public async Task IdToken_ClaimsFollowGrantedScopes()
    {
        var user = await _app.RegisterUserAsync();
        await _app.UpdateUserAsync(user.Id, new { given_name = "Ada", family_name = "Lovelace" });
        using var browser = new BrowserFlow(_app);
        var (_, withProfile) = await TokensAsync(browser, user, "openid profile email");
        Assert.Multiple(() =>
        {
            Assert.That(withProfile.GetPayloadValue<string>("email"), Is.EqualTo(user.Email));
            Assert.That(withProfile.GetPayloadValue<bool>("email_verified"), Is.True);
            Assert.That(withProfile.GetPayloadValue<string>("given_name"), Is.EqualTo("Ada"));
            Assert.That(withProfile.GetPayloadValue<string>("name"), Is.EqualTo("Ada Lovelace"));
            Assert.That(withProfile.GetPayloadValue<string>("preferred_username"), Is.EqualTo(user.Username));
        });

        using var other = new BrowserFlow(_app);
        var (_, openidOnly) = await TokensAsync(other, user, "openid");
        foreach (var claim in new[] { "email", "email_verified", "given_name", "name", "preferred_username", "phone_number", "address" })
            Assert.That(openidOnly.TryGetPayloadValue<object>(claim, out _), Is.False, claim + " without its scope");
    }

    [Test, Description("OIDC Core §5.1: absent claims are omitted, not null")]
    public async Task IdToken_ForUserWithoutPhoneOrAddress_OmitsThoseClaims()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var (_, idToken) = await TokensAsync(browser, user, "openid phone address profile");
        var payload = JsonNode.Parse(Base64Url.DecodeFromChars(idToken.EncodedPayload))!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That(payload.ContainsKey("phone_number"), Is.False);
            Assert.That(payload.ContainsKey("address"), Is.False);
            Assert.That(payload.ContainsKey("given_name"), Is.False);
            Assert.That(payload.Where(kv => kv.Value is null).Select(kv => kv.Key), Is.Empty, "no null claims");
        });
    }

    [Test, Description("OIDC Core §2: the kid names a key in the JWKS")]
    public async Task IdToken_Kid_IsInJwks()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var (_, idToken) = await TokensAsync(browser, user);
        Assert.That((await JwksAsync()).Select(k => k.Kid), Does.Contain(idToken.Kid));
    }
}
