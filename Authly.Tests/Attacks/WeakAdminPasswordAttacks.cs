using System.Net;
using Authly.Configuration;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 15: embedded (development) mode accepts the operator's explicit short AUTHLY_ADMIN_PASSWORD (the standalone
/// image's documented `admin`). An attacker who knows that default must gain nothing from it outside embedded mode,
/// and in embedded mode the account must still be made to change it at first login.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class WeakAdminPasswordAttacks
{
    [TestCase("production")]
    [TestCase("cli")]
    [TestCase("testing")]
    public void ShortAdminPassword_OutsideEmbeddedMode_IsStillRefused(string mode)
    {
        var vars = new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = "postgresql://authly:pw@localhost:5432/authly", ["AUTHLY_MODE"] = mode, ["AUTHLY_ADMIN_PASSWORD"] = "admin",
            ["JWT_SECRET_KEY"] = new string('k', 40), ["JWT_REFRESH_SECRET_KEY"] = new string('r', 40),
        };
        var e = Assert.Throws<AuthlyConfigurationException>(() => AuthlyOptions.Load(name => vars.GetValueOrDefault(name)))!;
        Assert.That(e.Problems, Has.Count.EqualTo(1), e.Message);
        Assert.That(e.Problems[0], Does.Contain("AUTHLY_ADMIN_PASSWORD must be at least 8 characters"));
    }

    [Test, Description("Issue 15: the admin created with a short embedded-mode password gets requires_password_change=true")]
    public async Task ShortAdminPassword_InEmbeddedMode_SignsIn_ButMustBeChanged()
    {
        using var app = await AuthlyApp.StartAsync(new Dictionary<string, string?>
        {
            ["AUTHLY_MODE"] = "embedded", ["AUTHLY_ADMIN_PASSWORD"] = "admin", ["JWT_SECRET_KEY"] = new string('k', 40),
            ["JWT_REFRESH_SECRET_KEY"] = new string('r', 40),
        });
        var response = await app.PostFormAsync("/api/v1/oauth/token", ("grant_type", "password"), ("username", AuthlyApp.AdminUsername),
            ("password", "admin"));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(body["requires_password_change"]!.GetValue<bool>(), Is.True);
    }
}
