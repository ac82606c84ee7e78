using System.Net;
using System.Text.Json.Nodes;
using Authly.Configuration;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Fapi2;

/// <summary>FAPI 2.0 Security Profile switched on server-wide (AUTHLY_PROFILE=fapi2).</summary>
[TestFixture, Category("FAPI2")]
public sealed class Fapi2ProfileTests : AppFixture
{
    protected override IReadOnlyDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["AUTHLY_PROFILE"] = "fapi2", ["AUTHLY_SIGNING_ALGORITHM"] = "ES256",
    };

    [Test, Description("FAPI 2.0 Security Profile §5.4.1: RS256 is not allowed; the server refuses to start with it, saying why")]
    public void Options_Fapi2WithRs256_RefuseToLoad()
    {
        var e = Assert.Throws<AuthlyConfigurationException>(() => AuthlyOptions.Load(name => name switch
        {
            "DATABASE_URL" => "postgresql://u:p@localhost/db", "AUTHLY_MODE" => "testing", "AUTHLY_PROFILE" => "fapi2", _ => null,
        }));
        Assert.That(e!.Message, Does.Contain("AUTHLY_PROFILE=fapi2 needs AUTHLY_SIGNING_ALGORITHM=ES256"));
    }

    [Test, Description("FAPI 2.0 §5.3.2.1/§5.3.2.2: discovery lists private_key_jwt only, PAR required, no password grant, ES256")]
    public async Task Discovery_AdvertisesOnlyTheProfile()
    {
        var body = JsonNode.Parse(await _app.CreateClient().GetStringAsync("/.well-known/openid-configuration"))!.AsObject();
        string[] Strings(string key) => body[key]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(Strings("token_endpoint_auth_methods_supported"), Is.EqualTo(new[] { "private_key_jwt" }));
            Assert.That(body["require_pushed_authorization_requests"]!.GetValue<bool>(), Is.True);
            Assert.That(Strings("grant_types_supported"), Does.Not.Contain("password"));
            Assert.That(Strings("id_token_signing_alg_values_supported"), Is.EqualTo(new[] { "ES256" }));
        });
    }

    [Test, Description("FAPI 2.0 §5.3.2.2: no resource owner password credentials grant, not even the first-party one")]
    public async Task PasswordGrant_IsUnauthorizedClient() =>
        await OAuthAssert.ErrorAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", AuthlyApp.AdminUsername),
            ("password", AuthlyApp.AdminPassword)), HttpStatusCode.BadRequest, "unauthorized_client");
}
