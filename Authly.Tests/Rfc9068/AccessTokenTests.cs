using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Tests.Rfc9068;

/// <summary>
/// RFC 9068 JWT access tokens, checked from outside: the header and claims, and validation by
/// Microsoft.IdentityModel's JsonWebTokenHandler with nothing but the published JWKS.
/// </summary>
[TestFixture, Category("RFC9068")]
public sealed class AccessTokenTests : AppFixture
{
    private AuthlyApp _es256 = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _es256 = await AuthlyApp.StartAsync(new Dictionary<string, string?> { ["AUTHLY_SIGNING_ALGORITHM"] = "ES256" });
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _es256.Dispose();
    }

    private static async Task<string> UserTokenAsync(AuthlyApp app, AuthlyApp.TestUser user, string scope = "read write") =>
        AuthlyApp.Str(await app.PasswordTokenAsync(user.Username, user.Password, scope), "access_token");

    private static async Task<(string Token, string ClientId)> ClientTokenAsync(AuthlyApp app)
    {
        var (id, secret) = await app.CreateConfidentialClientAsync(scope: "read write");
        var body = await OAuthAssert.TokenAsync(await app.PostFormAsync("/api/v1/oauth/token", AuthlyApp.Basic(id, secret!),
            ("grant_type", "client_credentials"), ("scope", "read")));
        return (AuthlyApp.Str(body, "access_token"), id);
    }

    private static async Task<JsonWebKeySet> JwksAsync(AuthlyApp app) =>
        new(await app.CreateClient().GetStringAsync("/.well-known/jwks.json"));

    /// <summary>RFC 9068 §4 validation as a resource server would do it: the issuer's JWKS, iss, aud, typ, alg, lifetime.</summary>
    private static async Task<TokenValidationResult> ValidateAsync(AuthlyApp app, string token, string algorithm)
    {
        var jwks = await JwksAsync(app);
        return await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = AuthlyApp.Issuer,
            ValidAudience = AuthlyApp.Issuer,
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidAlgorithms = [algorithm],
            ValidTypes = ["at+jwt", "application/at+jwt"],
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateLifetime = true,
            ClockSkew = TimeSpan.Zero,
        });
    }

    [Test, Description("RFC 9068 §2.1: typ at+jwt, an asymmetric alg, and a kid found in the JWKS")]
    public async Task AccessToken_Header_HasAtJwtTypeRs256AndPublishedKid()
    {
        var user = await _app.CreateUserAsync();
        var jwt = new JsonWebToken(await UserTokenAsync(_app, user));
        var jwks = await JwksAsync(_app);
        Assert.Multiple(() =>
        {
            Assert.That(jwt.Typ, Is.EqualTo("at+jwt"));
            Assert.That(jwt.Alg, Is.EqualTo("RS256"));
            Assert.That(jwt.Kid, Is.Not.Empty);
            var key = jwks.Keys.SingleOrDefault(k => k.Kid == jwt.Kid);
            Assert.That(key, Is.Not.Null, $"kid {jwt.Kid} not in the JWKS");
            Assert.That(key?.Alg, Is.EqualTo("RS256"));
            Assert.That(key?.Kty, Is.EqualTo("RSA"));
        });
    }

    [Test, Description("RFC 9068 §2.2: iss, sub, aud, exp, iat, jti, client_id, scope; username for a user")]
    public async Task AccessToken_ForUser_HasTheRequiredClaimsAndUsername()
    {
        var user = await _app.CreateUserAsync();
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var jwt = new JsonWebToken(await UserTokenAsync(_app, user));
        var scriptClient = (await _app.ScriptClientAsync()).Id;
        Assert.Multiple(() =>
        {
            Assert.That(jwt.Issuer, Is.EqualTo(AuthlyApp.Issuer));
            Assert.That(jwt.Subject, Is.EqualTo(user.Id.ToString()), "sub is the stable user id, not the username");
            Assert.That(jwt.Audiences, Is.EqualTo(new[] { AuthlyApp.Issuer }));
            Assert.That(jwt.Id, Is.Not.Empty);
            Assert.That(jwt.GetPayloadValue<string>("client_id"), Is.EqualTo(scriptClient), "read write come through a client (issue 11)");
            Assert.That(jwt.GetPayloadValue<string>("scope"), Is.EqualTo("read write"));
            Assert.That(jwt.GetPayloadValue<string>("username"), Is.EqualTo(user.Username));
            var iat = jwt.GetPayloadValue<long>("iat");
            Assert.That(iat, Is.InRange(before - 60, before + 60));
            Assert.That(jwt.GetPayloadValue<long>("exp") - iat, Is.EqualTo(3600), "exp matches expires_in");
        });
    }

    [Test, Description("RFC 9068 §2.2: a client's own token has sub = client_id and no user claims")]
    public async Task AccessToken_ForClient_HasClientSubjectAndNoUsername()
    {
        var (token, clientId) = await ClientTokenAsync(_app);
        var jwt = new JsonWebToken(token);
        Assert.Multiple(() =>
        {
            Assert.That(jwt.Subject, Is.EqualTo(clientId));
            Assert.That(jwt.GetPayloadValue<string>("client_id"), Is.EqualTo(clientId));
            Assert.That(jwt.GetPayloadValue<string>("scope"), Is.EqualTo("read"));
            Assert.That(jwt.TryGetPayloadValue<string>("username", out _), Is.False);
            Assert.That(jwt.Typ, Is.EqualTo("at+jwt"));
        });
    }

    [Test, Description("RFC 9068 §2.2: jti is unique per token")]
    public async Task AccessTokens_HaveDistinctJti()
    {
        var user = await _app.CreateUserAsync();
        var first = new JsonWebToken(await UserTokenAsync(_app, user));
        var second = new JsonWebToken(await UserTokenAsync(_app, user));
        Assert.That(second.Id, Is.Not.EqualTo(first.Id));
    }

    [Test, Description("RFC 9068 §4: a resource server validates user and client tokens with the published JWKS")]
    public async Task AccessTokens_ValidateWithJsonWebTokenHandlerAndTheJwks()
    {
        var user = await _app.CreateUserAsync();
        foreach (var token in new[] { await UserTokenAsync(_app, user), (await ClientTokenAsync(_app)).Token })
        {
            var result = await ValidateAsync(_app, token, SecurityAlgorithms.RsaSha256);
            Assert.That(result.IsValid, Is.True, result.Exception?.Message);
        }
    }

    [Test, Description("RFC 9068 §4: the same validation refuses a tampered token and another server's token (sanity of the check above)")]
    public async Task AccessTokens_TamperedOrForeign_FailJwksValidation()
    {
        var user = await _app.CreateUserAsync();
        var token = await UserTokenAsync(_app, user);
        var parts = token.Split('.');
        var payload = JsonNode.Parse(Base64UrlEncoder.Decode(parts[1]))!.AsObject();
        payload["scope"] = "read write admin:users:write";
        var tampered = $"{parts[0]}.{Base64UrlEncoder.Encode(payload.ToJsonString())}.{parts[2]}";
        Assert.That((await ValidateAsync(_app, tampered, SecurityAlgorithms.RsaSha256)).IsValid, Is.False);

        var foreign = AuthlyApp.Str(await _es256.PasswordTokenAsync(), "access_token");
        Assert.That((await ValidateAsync(_app, foreign, SecurityAlgorithms.EcdsaSha256)).IsValid, Is.False);
    }

    [Test, Description("RFC 9068 §2.1, RFC 7518 §3.4: AUTHLY_SIGNING_ALGORITHM=ES256 issues ES256 tokens that validate with the JWKS")]
    public async Task AccessToken_WithEs256Configured_IsEs256AndValidates()
    {
        var user = await _es256.CreateUserAsync();
        var token = await UserTokenAsync(_es256, user);
        var jwt = new JsonWebToken(token);
        var jwks = await JwksAsync(_es256);
        var key = jwks.Keys.Single(k => k.Kid == jwt.Kid);
        Assert.Multiple(() =>
        {
            Assert.That(jwt.Alg, Is.EqualTo("ES256"));
            Assert.That(jwt.Typ, Is.EqualTo("at+jwt"));
            Assert.That(key.Kty, Is.EqualTo("EC"));
            Assert.That(key.Crv, Is.EqualTo("P-256"));
            Assert.That(key.Alg, Is.EqualTo("ES256"));
            Assert.That(key.D, Is.Null.Or.Empty);
        });
        var result = await ValidateAsync(_es256, token, SecurityAlgorithms.EcdsaSha256);
        Assert.That(result.IsValid, Is.True, result.Exception?.Message);

        var (clientToken, _) = await ClientTokenAsync(_es256);
        Assert.That((await ValidateAsync(_es256, clientToken, SecurityAlgorithms.EcdsaSha256)).IsValid, Is.True);

        // The server's own introspection agrees.
        var introspection = await AuthlyApp.JsonAsync(await _es256.PostFormAsync("/api/v1/oauth/introspect", ("token", token)));
        Assert.That(introspection["active"]!.GetValue<bool>(), Is.True);
    }

    [Test, Description("OpenID Connect Discovery 1.0 §3: the metadata names the signing algorithm in use")]
    public async Task Discovery_WithEs256Configured_AdvertisesEs256()
    {
        var metadata = await AuthlyApp.JsonAsync(await _es256.CreateClient().GetAsync("/.well-known/openid-configuration"));
        Assert.That(metadata["id_token_signing_alg_values_supported"]!.AsArray().Select(a => a!.GetValue<string>()), Does.Contain("ES256"));
    }
}
