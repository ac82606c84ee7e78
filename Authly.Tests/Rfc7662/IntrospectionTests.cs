using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;
using Authly.Tokens;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Tests.Rfc7662;

/// <summary>
/// RFC 7662 token introspection. Tokens with a bad claim are signed with the server's own key
/// (taken from its key store), so each case fails for the reason it names and not for its signature;
/// a control case shows that such a token with good claims is active.
/// </summary>
[TestFixture, Category("RFC7662")]
public sealed class IntrospectionTests : AppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["JWT_SECRET_KEY"] = JwtSecret };

    private const string Inactive = """{"active":false}""";
    private const string JwtSecret = "introspection-tests-jwt-secret-0123456789abcdef";
    private AuthlyApp _authApp = null!;
    private AuthlyApp.TestUser _user = null!;
    private SigningKey _key = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _authApp = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["AUTHLY_INTROSPECTION_REQUIRE_AUTH"] = "true" });
        _user = await _app.CreateUserAsync();
        _key = (await _app.Services.GetRequiredService<SigningKeyStore>().RingAsync(CancellationToken.None)).Active;
        Assert.That(_key.Algorithm, Is.EqualTo("RS256"));
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _authApp.Dispose();
    }

    private async Task<HttpResponseMessage> IntrospectAsync(string token, string? hint = null) =>
        await _app.PostFormAsync(IntrospectPath, [("token", token), .. hint is null ? Array.Empty<(string, string)>() : [("token_type_hint", hint)]]);

    private async Task AssertInactiveAsync(string token, string? hint = null)
    {
        var response = await IntrospectAsync(token, hint);
        var raw = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            // RFC 7662 §2.2: an inactive token is answered with 200 and only "active": false.
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), raw);
            Assert.That(raw, Is.EqualTo(Inactive));
            OAuthAssert.NoStore(response);
        });
    }

    private async Task<JsonObject> AssertActiveAsync(string token, string? hint = null)
    {
        var response = await IntrospectAsync(token, hint);
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(body["active"]?.GetValue<bool>(), Is.True, body.ToJsonString());
        OAuthAssert.NoStore(response);
        return body;
    }

    // First-party (CLI) tokens: the client-less password grant yields account:* and admin:* only (issue 11).
    private async Task<JsonObject> UserTokensAsync(string scope = "account:read account:write") =>
        await _app.PasswordTokenAsync(_user.Username, _user.Password, scope);

    // ---- active tokens ----

    [Test, Description("RFC 7662 §2.2; API.md: the fields of an active access token")]
    public async Task Introspect_ActiveUserAccessToken_ReturnsExactlyTheContractFields()
    {
        var tokens = await UserTokensAsync();
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var body = await AssertActiveAsync(AuthlyApp.Str(tokens, "access_token"));
        Assert.Multiple(() =>
        {
            var keys = body.Select(p => p.Key).ToList();
            Assert.That(keys, Is.SupersetOf(new[] { "active", "scope", "client_id", "username", "token_type", "exp", "iat", "sub", "aud", "iss", "jti" }));
            Assert.That(keys, Is.SubsetOf(new[] { "active", "scope", "client_id", "username", "token_type", "exp", "iat", "nbf", "sub", "aud", "iss", "jti" }));
            Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("account:read account:write"));
            Assert.That(AuthlyApp.Str(body, "client_id"), Is.EqualTo("authly-cli"));
            Assert.That(AuthlyApp.Str(body, "username"), Is.EqualTo(_user.Username));
            Assert.That(AuthlyApp.Str(body, "token_type"), Is.EqualTo("Bearer"));
            Assert.That(AuthlyApp.Str(body, "sub"), Is.EqualTo(_user.Id.ToString()));
            Assert.That(AuthlyApp.Str(body, "iss"), Is.EqualTo(AuthlyApp.Issuer));
            Assert.That(AuthlyApp.Str(body, "aud"), Is.EqualTo(AuthlyApp.Issuer));
            Assert.That(AuthlyApp.Str(body, "jti"), Is.Not.Empty);
            var iat = body["iat"]!.GetValue<long>();
            Assert.That(iat, Is.InRange(before - 60, before + 60));
            Assert.That(body["exp"]!.GetValue<long>() - iat, Is.EqualTo(3600));
        });
    }

    [Test, Description("RFC 7662 §2.2: a refresh token introspects too, with token_type refresh_token")]
    public async Task Introspect_ActiveRefreshToken_ReturnsRefreshTokenType()
    {
        var tokens = await UserTokensAsync("account:read");
        var body = await AssertActiveAsync(AuthlyApp.Str(tokens, "refresh_token"));
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(body, "token_type"), Is.EqualTo("refresh_token"));
            Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("account:read"));
            Assert.That(AuthlyApp.Str(body, "username"), Is.EqualTo(_user.Username));
            Assert.That(AuthlyApp.Str(body, "sub"), Is.EqualTo(_user.Id.ToString()));
            Assert.That(AuthlyApp.Str(body, "iss"), Is.EqualTo(AuthlyApp.Issuer));
            Assert.That(body["exp"]!.GetValue<long>(), Is.GreaterThan(DateTimeOffset.UtcNow.AddDays(6).ToUnixTimeSeconds()));
        });
    }

    [TestCase("access_token", "refresh_token")]
    [TestCase("refresh_token", "access_token")]
    [TestCase("access_token", "something_else")]
    [Description("RFC 7662 §2.1: a wrong token_type_hint must not stop the server from finding the token")]
    public async Task Introspect_WithWrongHint_StillFindsTheToken(string which, string hint)
    {
        var tokens = await UserTokensAsync();
        await AssertActiveAsync(AuthlyApp.Str(tokens, which), hint);
    }

    [Test, Description("Control: a token crafted here with the server's key and good claims is active, so the negative cases below test their claim")]
    public async Task Introspect_CraftedTokenWithGoodClaims_IsActive()
    {
        var body = await AssertActiveAsync(Sign(Claims()));
        Assert.That(AuthlyApp.Str(body, "client_id"), Is.EqualTo("crafted-client"));
    }

    // ---- inactive: exactly {"active":false} ----

    [Test, Description("RFC 7662 §2.2: expired → inactive")]
    public async Task Introspect_ExpiredAccessToken_IsInactive()
    {
        var now = DateTimeOffset.UtcNow;
        await AssertInactiveAsync(Sign(Claims(iat: now.AddHours(-2), exp: now.AddSeconds(-1))));
    }

    [Test, Description("RFC 7662 §2.2; RFC 7009: revoked access token → inactive")]
    public async Task Introspect_RevokedAccessToken_IsInactive()
    {
        var access = AuthlyApp.Str(await UserTokensAsync(), "access_token");
        Assert.That((await _app.PostFormAsync("/api/v1/oauth/revoke", ("token", access))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await AssertInactiveAsync(access);
    }

    [Test, Description("RFC 7662 §2.2: revoked refresh token → inactive")]
    public async Task Introspect_RevokedRefreshToken_IsInactive()
    {
        var refresh = AuthlyApp.Str(await UserTokensAsync(), "refresh_token");
        Assert.That((await _app.PostFormAsync("/api/v1/oauth/revoke", ("token", refresh), ("token_type_hint", "refresh_token"))).StatusCode,
            Is.EqualTo(HttpStatusCode.OK));
        await AssertInactiveAsync(refresh);
    }

    [Test, Description("RFC 7662 §2.2: expired refresh token → inactive")]
    public async Task Introspect_ExpiredRefreshToken_IsInactive()
    {
        var refresh = AuthlyApp.Str(await UserTokensAsync(), "refresh_token");
        await _app.SqlScalarAsync<int>("UPDATE refresh_tokens SET expires_at = now() - interval '1 s' WHERE token_hash = @Hash RETURNING 1",
            new { Hash = SHA256.HashData(Encoding.UTF8.GetBytes(refresh)) });
        await AssertInactiveAsync(refresh);
    }

    [TestCase("abc")]
    [TestCase("a.b")]
    [TestCase("a.b.c")]
    [TestCase("a.b.c.d.e")]
    [TestCase("..")]
    [TestCase("eyJhbGciOiJSUzI1NiJ9")]
    [TestCase("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0")]
    [TestCase("eyJhbGciOiJSUzI1NiJ9.!!!.c2ln")]
    [TestCase("e30.e30.e30")]
    [TestCase("bnVsbA.bnVsbA.bnVsbA")]
    [TestCase("W10.W10.")]
    [TestCase("Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln")]
    [Description("RFC 7662 §2.2: malformed → inactive")]
    public async Task Introspect_MalformedToken_IsInactive(string token)
    {
        await AssertInactiveAsync(token);
    }

    [Test, Description("RFC 7662 §2.2: random bytes → inactive")]
    public async Task Introspect_GarbageToken_IsInactive()
    {
        await AssertInactiveAsync(Convert.ToBase64String(RandomNumberGenerator.GetBytes(300)));
        await AssertInactiveAsync(Base64Url(RandomNumberGenerator.GetBytes(40)) + "." + Base64Url(RandomNumberGenerator.GetBytes(80)) + "." + Base64Url(RandomNumberGenerator.GetBytes(256)));
    }

    [Test, Description("RFC 8725 §3.1: a token with its signature cut off → inactive")]
    public async Task Introspect_TokenWithEmptySignature_IsInactive()
    {
        var real = AuthlyApp.Str(await UserTokensAsync(), "access_token");
        await AssertInactiveAsync(real[..(real.LastIndexOf('.') + 1)]);
        var crafted = Sign(Claims());
        await AssertInactiveAsync(crafted[..(crafted.LastIndexOf('.') + 1)]);
    }

    [Test, Description("RFC 7662 §2.2: a real token with its payload changed → inactive")]
    public async Task Introspect_TokenWithAlteredPayload_IsInactive()
    {
        var parts = AuthlyApp.Str(await UserTokensAsync("account:read"), "access_token").Split('.');
        var payload = JsonNode.Parse(Encoding.UTF8.GetString(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.DecodeBytes(parts[1])))!.AsObject();
        payload["scope"] = "read write admin:users:write";
        await AssertInactiveAsync($"{parts[0]}.{Base64Url(Encoding.UTF8.GetBytes(payload.ToJsonString()))}.{parts[2]}");
    }

    [TestCase("none")]
    [TestCase("None")]
    [TestCase("NONE")]
    [Description("RFC 8725 §3.1, §2.1: alg none → inactive")]
    public async Task Introspect_UnsignedAlgNoneToken_IsInactive(string alg)
    {
        var header = new JsonObject { ["alg"] = alg, ["typ"] = "at+jwt", ["kid"] = _key.Kid };
        await AssertInactiveAsync(Unsigned(header, Claims()));
        await AssertInactiveAsync(Unsigned(header, Claims()) + Base64Url([1, 2, 3]));
    }

    [Test, Description("RFC 8725 §3.1: signed by a foreign RSA key that claims our kid → inactive")]
    public async Task Introspect_TokenSignedByForeignKeyWithOurKid_IsInactive()
    {
        using var rsa = RSA.Create(2048);
        var foreign = new RsaSecurityKey(rsa) { KeyId = _key.Kid };
        await AssertInactiveAsync(Sign(Claims(), new SigningCredentials(foreign, SecurityAlgorithms.RsaSha256)));
        var unknownKid = new RsaSecurityKey(rsa) { KeyId = "unknown-" + _key.Kid };
        await AssertInactiveAsync(Sign(Claims(), new SigningCredentials(unknownKid, SecurityAlgorithms.RsaSha256)));
    }

    [Test, Description("RFC 8725 §2.1, §3.1: HS256 keyed with JWT_SECRET_KEY on an RS256 server (algorithm confusion) → inactive")]
    public async Task Introspect_Hs256TokenSignedWithJwtSecretKey_IsInactive()
    {
        foreach (var kid in new[] { _key.Kid, "hs256", null })
        {
            var key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(JwtSecret)) { KeyId = kid };
            await AssertInactiveAsync(Sign(Claims(), new SigningCredentials(key, SecurityAlgorithms.HmacSha256)));
        }
    }

    [Test, Description("RFC 8725 §2.1: HS256 keyed with the published RSA public key (the classic confusion) → inactive")]
    public async Task Introspect_Hs256TokenSignedWithOurPublicKey_IsInactive()
    {
        var rsa = ((RsaSecurityKey)_key.Key).Rsa ?? RSA.Create(((RsaSecurityKey)_key.Key).Parameters);
        var publicKeys = new[]
        {
            Encoding.ASCII.GetBytes(rsa.ExportSubjectPublicKeyInfoPem()),
            rsa.ExportSubjectPublicKeyInfo(),
            Encoding.UTF8.GetBytes(await _app.CreateClient().GetStringAsync("/.well-known/jwks.json")),
        };
        foreach (var secret in publicKeys)
        {
            var key = new SymmetricSecurityKey(secret) { KeyId = _key.Kid };
            await AssertInactiveAsync(Sign(Claims(), new SigningCredentials(key, SecurityAlgorithms.HmacSha256)));
        }
    }

    [TestCase("https://evil.example")]
    [TestCase("http://localhost:8080")]
    [TestCase("")]
    [Description("RFC 9068 §4: iss must be ours → inactive")]
    public async Task Introspect_TokenWithWrongIssuer_IsInactive(string iss)
    {
        var claims = Claims();
        claims["iss"] = iss;
        await AssertInactiveAsync(Sign(claims));
    }

    [Test, Description("RFC 9068 §4: no iss → inactive")]
    public async Task Introspect_TokenWithoutIssuer_IsInactive()
    {
        var claims = Claims();
        claims.Remove("iss");
        await AssertInactiveAsync(Sign(claims));
    }

    [TestCase("https://other-resource.example")]
    [TestCase("")]
    [Description("RFC 9068 §4: aud must be ours → inactive")]
    public async Task Introspect_TokenWithWrongAudience_IsInactive(string aud)
    {
        var claims = Claims();
        claims["aud"] = aud;
        await AssertInactiveAsync(Sign(claims));
    }

    [Test, Description("RFC 9068 §4: no aud → inactive")]
    public async Task Introspect_TokenWithoutAudience_IsInactive()
    {
        var claims = Claims();
        claims.Remove("aud");
        await AssertInactiveAsync(Sign(claims));
    }

    [Test, Description("RFC 7519 §4.1.5: nbf in the future → inactive")]
    public async Task Introspect_TokenNotYetValid_IsInactive()
    {
        var now = DateTimeOffset.UtcNow;
        await AssertInactiveAsync(Sign(Claims(iat: now, exp: now.AddHours(1), nbf: now.AddMinutes(10))));
    }

    [TestCase("JWT")]
    [TestCase("id_token+jwt")]
    [TestCase("application/jwt")]
    [TestCase(null)]
    [Description("RFC 9068 §4: typ must be at+jwt (application/at+jwt) → otherwise inactive")]
    public async Task Introspect_TokenWithWrongType_IsInactive(string? typ)
    {
        await AssertInactiveAsync(Sign(Claims(), typ: typ));
    }

    [TestCase("exp")]
    [TestCase("jti")]
    [TestCase("client_id")]
    [Description("RFC 9068 §2.2: exp, jti and client_id are REQUIRED → without one, inactive")]
    public async Task Introspect_TokenWithoutRequiredClaim_IsInactive(string claim)
    {
        var claims = Claims();
        claims.Remove(claim);
        await AssertInactiveAsync(Sign(claims));
    }

    [Test, Description("RFC 7662 §2.2: a rotated (used) refresh token → inactive")]
    public async Task Introspect_RotatedRefreshToken_IsInactive()
    {
        var refresh = AuthlyApp.Str(await UserTokensAsync(), "refresh_token");
        await OAuthAssert.TokenAsync(await _app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "refresh_token"), ("refresh_token", refresh)));
        await AssertInactiveAsync(refresh);
        await AssertInactiveAsync(refresh, "refresh_token");
    }

    [Test, Description("RFC 7662 §2.2: a token of another Authly (another key ring, same issuer URL) → inactive")]
    public async Task Introspect_TokenFromAnotherServer_IsInactive()
    {
        var foreign = AuthlyApp.Str(await _authApp.PasswordTokenAsync(), "access_token");
        await AssertInactiveAsync(foreign);
    }

    // ---- request errors ----

    [TestCase(false)]
    [TestCase(true)]
    [Description("RFC 7662 §2.1: token is REQUIRED → invalid_request")]
    public async Task Introspect_WithoutToken_ReturnsInvalidRequest(bool empty)
    {
        var response = empty
            ? await _app.PostFormAsync(IntrospectPath, ("token", ""))
            : await _app.PostFormAsync(IntrospectPath, ("token_type_hint", "access_token"));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 7662 §2.1: the request is a form; RFC 6749 §3.2: a parameter at most once")]
    public async Task Introspect_WithJsonBodyOrRepeatedToken_ReturnsInvalidRequest()
    {
        var json = await _app.CreateClient().PostAsync(IntrospectPath, new StringContent("""{"token":"x"}""", Encoding.UTF8, "application/json"));
        await OAuthAssert.ErrorAsync(json, HttpStatusCode.BadRequest, "invalid_request");
        var repeated = await _app.PostFormAsync(IntrospectPath, ("token", "a"), ("token", "b"));
        await OAuthAssert.ErrorAsync(repeated, HttpStatusCode.BadRequest, "invalid_request");
    }

    // ---- caller authentication (AUTHLY_INTROSPECTION_REQUIRE_AUTH=true) ----

    [Test, Description("RFC 7662 §2.1: the endpoint requires authorization; none → 401 invalid_client")]
    public async Task IntrospectWithAuthRequired_WithoutCredentials_Returns401InvalidClient()
    {
        var token = AuthlyApp.Str(await _authApp.PasswordTokenAsync(), "access_token");
        await OAuthAssert.InvalidClientAsync(await _authApp.PostFormAsync(IntrospectPath, ("token", token)));
    }

    [Test, Description("RFC 7662 §2.1: a public client cannot authenticate → 401 invalid_client")]
    public async Task IntrospectWithAuthRequired_WithPublicClientId_Returns401InvalidClient()
    {
        var (id, _) = await _authApp.CreateClientAsync(new { client_name = "public", client_type = "public", scope = "read", grant_types = new[] { "password" } });
        var token = AuthlyApp.Str(await _authApp.PasswordTokenAsync(), "access_token");
        await OAuthAssert.InvalidClientAsync(await _authApp.PostFormAsync(IntrospectPath, ("token", token), ("client_id", id)));
    }

    [Test, Description("RFC 7662 §2.1, RFC 6750 §3.1: a bearer token without the introspect scope → 403 insufficient_scope")]
    public async Task IntrospectWithAuthRequired_WithBearerLackingIntrospectScope_Returns403InsufficientScope()
    {
        var (id, secret) = await _authApp.CreateConfidentialClientAsync(scope: "read");
        var caller = await ClientTokenAsync(_authApp, id, secret!, "read");
        var token = AuthlyApp.Str(await _authApp.PasswordTokenAsync(), "access_token");
        var response = await _authApp.PostFormAsync(IntrospectPath, new AuthenticationHeaderValue("Bearer", caller), ("token", token));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Forbidden, "insufficient_scope");
        var challenge = response.Headers.WwwAuthenticate.Single();
        Assert.That(challenge.Scheme, Is.EqualTo("Bearer"));
        Assert.That(challenge.Parameter, Does.Contain("error=\"insufficient_scope\""));
    }

    [Test, Description("RFC 6750 §3.1: an invalid bearer token → 401 invalid_token")]
    public async Task IntrospectWithAuthRequired_WithInvalidBearer_Returns401InvalidToken()
    {
        var response = await _authApp.PostFormAsync(IntrospectPath, new AuthenticationHeaderValue("Bearer", "not-a-token"), ("token", "x"));
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_token");
        Assert.That(response.Headers.WwwAuthenticate.Single().Scheme, Is.EqualTo("Bearer"));
    }

    [Test, Description("RFC 7662 §2.1: a bearer token with the introspect scope may introspect")]
    public async Task IntrospectWithAuthRequired_WithBearerHavingIntrospectScope_Succeeds()
    {
        var (id, secret) = await _authApp.CreateConfidentialClientAsync(scope: "read introspect");
        var caller = await ClientTokenAsync(_authApp, id, secret!, "introspect");
        var token = AuthlyApp.Str(await _authApp.PasswordTokenAsync(), "access_token");
        var response = await _authApp.PostFormAsync(IntrospectPath, new AuthenticationHeaderValue("Bearer", caller), ("token", token));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body["active"]!.GetValue<bool>(), Is.True);
    }

    [Test, Description("RFC 7662 §2.1: confidential client credentials (Basic or post) may introspect")]
    public async Task IntrospectWithAuthRequired_WithConfidentialClientCredentials_Succeeds()
    {
        var token = AuthlyApp.Str(await _authApp.PasswordTokenAsync(), "access_token");
        var (basicId, basicSecret) = await _authApp.CreateConfidentialClientAsync();
        var basic = await _authApp.PostFormAsync(IntrospectPath, AuthlyApp.Basic(basicId, basicSecret!), ("token", token));
        Assert.That((await AuthlyApp.JsonAsync(basic))["active"]!.GetValue<bool>(), Is.True);

        var (postId, postSecret) = await _authApp.CreateConfidentialClientAsync(authMethod: "client_secret_post");
        var post = await _authApp.PostFormAsync(IntrospectPath, ("token", token), ("client_id", postId), ("client_secret", postSecret!));
        Assert.That((await AuthlyApp.JsonAsync(post))["active"]!.GetValue<bool>(), Is.True);

        // Unknown tokens still answer {"active":false} to an authenticated caller.
        var unknown = await _authApp.PostFormAsync(IntrospectPath, AuthlyApp.Basic(basicId, basicSecret!), ("token", "nope"));
        Assert.That(await unknown.Content.ReadAsStringAsync(), Is.EqualTo(Inactive));
    }

    [Test, Description("RFC 7662 §2.1, RFC 6749 §5.2: wrong client credentials → 401 invalid_client")]
    public async Task IntrospectWithAuthRequired_WithWrongClientSecret_Returns401InvalidClient()
    {
        var (id, secret) = await _authApp.CreateConfidentialClientAsync();
        await OAuthAssert.InvalidClientAsync(await _authApp.PostFormAsync(IntrospectPath, AuthlyApp.Basic(id, secret + "x"), ("token", "x")));
    }

    // ---- helpers: JWTs built here ----

    private static async Task<string> ClientTokenAsync(AuthlyApp app, string id, string secret, string scope)
    {
        var body = await OAuthAssert.TokenAsync(await app.PostFormAsync("/api/v1/oauth/token", AuthlyApp.Basic(id, secret),
            ("grant_type", "client_credentials"), ("scope", scope)));
        return AuthlyApp.Str(body, "access_token");
    }

    /// <summary>RFC 9068 §2.2 claims as the server would issue them, with the times given.</summary>
    private static Dictionary<string, object> Claims(DateTimeOffset? iat = null, DateTimeOffset? exp = null, DateTimeOffset? nbf = null)
    {
        var now = DateTimeOffset.UtcNow;
        return new Dictionary<string, object>
        {
            ["iss"] = AuthlyApp.Issuer,
            ["aud"] = AuthlyApp.Issuer,
            ["sub"] = "crafted-client",
            ["client_id"] = "crafted-client",
            ["scope"] = "read",
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["iat"] = (iat ?? now).ToUnixTimeSeconds(),
            ["nbf"] = (nbf ?? iat ?? now).ToUnixTimeSeconds(),
            ["exp"] = (exp ?? now.AddMinutes(30)).ToUnixTimeSeconds(),
        };
    }

    /// <summary>Signs <paramref name="claims"/> with the server's active key (or <paramref name="credentials"/>) and the given typ.</summary>
    private string Sign(Dictionary<string, object> claims, SigningCredentials? credentials = null, string? typ = "at+jwt")
    {
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        credentials ??= new SigningCredentials(_key.Key, SecurityAlgorithms.RsaSha256);
        if (typ is null)
        {
            // No typ header at all: build the header by hand.
            var header = new JsonObject { ["alg"] = credentials.Algorithm, ["kid"] = credentials.Key.KeyId };
            var signingInput = Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(claims)));
            var signature = ((RsaSecurityKey)credentials.Key).Rsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            return signingInput + "." + Base64Url(signature);
        }
        return handler.CreateToken(System.Text.Json.JsonSerializer.Serialize(claims), credentials,
            new Dictionary<string, object> { ["typ"] = typ });
    }

    private static string Unsigned(JsonObject header, Dictionary<string, object> claims) =>
        Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url(Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(claims))) + ".";

    private static string Base64Url(byte[] bytes) => Base64UrlEncoder.Encode(bytes);
}
