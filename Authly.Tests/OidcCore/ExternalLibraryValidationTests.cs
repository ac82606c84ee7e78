using Authly.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Tests.OidcCore;

/// <summary>
/// A relying party library that knows nothing about Authly (Microsoft.IdentityModel) reads the
/// discovery document and JWKS and validates Authly's ID and access tokens with them.
/// </summary>
[TestFixture, Category("OIDC")]
public sealed class ExternalLibraryValidationTests : RelyingPartyFixture
{
    private Task<OpenIdConnectConfiguration> ConfigurationAsync() =>
        new ConfigurationManager<OpenIdConnectConfiguration>(AuthlyApp.Issuer + "/.well-known/openid-configuration",
                new OpenIdConnectConfigurationRetriever(), new HttpDocumentRetriever(_app.CreateClient()) { RequireHttps = false })
            .GetConfigurationAsync(CancellationToken.None);

    [Test, Description("OIDC Discovery 1.0 §4: the metadata parses and names Authly's endpoints and keys")]
    public async Task Discovery_ParsesWithMicrosoftIdentityModel()
    {
        var config = await ConfigurationAsync();
        Assert.Multiple(() =>
        {
            Assert.That(config.Issuer, Is.EqualTo(AuthlyApp.Issuer));
            Assert.That(config.AuthorizationEndpoint, Is.EqualTo(AuthlyApp.Issuer + "/api/v1/oauth/authorize"));
            Assert.That(config.TokenEndpoint, Is.EqualTo(AuthlyApp.Issuer + "/api/v1/oauth/token"));
            Assert.That(config.UserInfoEndpoint, Is.EqualTo(AuthlyApp.Issuer + "/oidc/userinfo"));
            Assert.That(config.EndSessionEndpoint, Is.EqualTo(AuthlyApp.Issuer + "/oidc/logout"));
            Assert.That(config.JwksUri, Is.EqualTo(AuthlyApp.Issuer + "/.well-known/jwks.json"));
            Assert.That(config.SigningKeys, Is.Not.Empty);
            Assert.That(config.ResponseTypesSupported, Is.EqualTo(new[] { "code" }));
            Assert.That(config.IdTokenSigningAlgValuesSupported, Does.Contain("RS256"));
            Assert.That(config.SubjectTypesSupported, Does.Contain("public"));
        });
    }

    [Test, Description("OIDC Core §3.1.3.7: the ID token validates with the library, its nonce matches and at_hash matches the access token")]
    public async Task IdToken_ValidatesWithDiscoveredKeysIssuerAndAudience()
    {
        var config = await ConfigurationAsync();
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect) { Nonce = "ext-nonce-" + Guid.NewGuid().ToString("N") };
        var tokens = await browser.TokensAsync(request, user);
        var idToken = AuthlyApp.Str(tokens, "id_token");
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            ValidIssuer = config.Issuer,
            ValidAudience = _clientId,
            IssuerSigningKeys = config.SigningKeys,
            ValidAlgorithms = config.IdTokenSigningAlgValuesSupported,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
        });
        Assert.That(result.IsValid, Is.True, result.Exception?.ToString());

        // The library's own OIDC protocol checks: nonce, at_hash, required claims.
        var validator = new OpenIdConnectProtocolValidator { RequireStateValidation = false, RequireTimeStampInNonce = false };
        Assert.DoesNotThrow(() => validator.ValidateTokenResponse(new OpenIdConnectProtocolValidationContext
        {
            ClientId = _clientId,
            Nonce = request.Nonce,
            ValidatedIdToken = new System.IdentityModel.Tokens.Jwt.JwtSecurityToken(idToken),
            ProtocolMessage = new OpenIdConnectMessage { IdToken = idToken, AccessToken = AuthlyApp.Str(tokens, "access_token") },
        }));
    }

    [Test, Description("RFC 9068 §4: the access token validates with the discovered keys, issuer and audience (the issuer)")]
    public async Task AccessToken_ValidatesWithDiscoveredKeysAndIssuer()
    {
        var config = await ConfigurationAsync();
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var tokens = await browser.TokensAsync(new BrowserFlow.Request(_clientId, Redirect), user);
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(AuthlyApp.Str(tokens, "access_token"), new TokenValidationParameters
        {
            ValidIssuer = config.Issuer,
            ValidAudience = config.Issuer,
            IssuerSigningKeys = config.SigningKeys,
            ValidTypes = ["at+jwt"],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
        });
        Assert.That(result.IsValid, Is.True, result.Exception?.ToString());
        var jwt = (JsonWebToken)result.SecurityToken;
        Assert.Multiple(() =>
        {
            Assert.That(jwt.Subject, Is.EqualTo(user.Id.ToString()));
            Assert.That(jwt.GetPayloadValue<string>("client_id"), Is.EqualTo(_clientId));
            Assert.That(jwt.GetPayloadValue<string>("scope").Split(' '), Is.EquivalentTo(new[] { "openid", "profile", "email" }));
        });
    }

    [Test, Description("OIDC Core §3.1.3.7: an ID token is refused by a relying party of another client (aud)")]
    public async Task IdToken_ForAnotherAudience_FailsValidation()
    {
        var config = await ConfigurationAsync();
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var tokens = await browser.TokensAsync(new BrowserFlow.Request(_clientId, Redirect), user);
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(AuthlyApp.Str(tokens, "id_token"), new TokenValidationParameters
        {
            ValidIssuer = config.Issuer, ValidAudience = "some-other-client", IssuerSigningKeys = config.SigningKeys,
        });
        Assert.That(result.IsValid, Is.False);
        Assert.That(result.Exception, Is.InstanceOf<SecurityTokenInvalidAudienceException>());
    }
}
