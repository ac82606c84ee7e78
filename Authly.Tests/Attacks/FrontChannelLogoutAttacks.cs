using System.Net;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Attacks;

/// <summary>
/// Logout CSRF through the front-channel logout URL (RFC 9700 §4.7 cross-site request forgery; OpenID Connect
/// Front-Channel Logout 1.0 §2): any site can send a signed-in browser to a GET URL, so that URL may end only the
/// session it names, and only when the browser holds that session.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class FrontChannelLogoutAttacks : AppFixture
{
    private async Task<BrowserFlow> SignedInAsync()
    {
        var browser = new BrowserFlow(_app);
        await browser.SignInDirectlyAsync(await _app.RegisterUserAsync());
        Assert.That((await browser.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True);
        return browser;
    }

    [Test, Description("Front-Channel Logout 1.0 §2, RFC 9700 §4.7: the right issuer without a sid still ends nothing")]
    public async Task FrontChannelLogout_IssuerWithoutSid_DoesNotEndTheVictimsSession()
    {
        using var victim = await SignedInAsync();
        await victim.GetAsync("/oidc/frontchannel/logout?iss=" + Uri.EscapeDataString(AuthlyApp.Issuer));
        Assert.That((await victim.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True);
    }

    [Test, Description("Front-Channel Logout 1.0 §2: a sid learned from another browser does not end that session from this one")]
    public async Task FrontChannelLogout_OtherBrowsersSid_DoesNotEndThatSession()
    {
        using var victim = await SignedInAsync();
        using var attacker = await SignedInAsync();
        var victimSid = AuthlyApp.Str(await victim.SessionCheckAsync(), "sid");
        var response = await attacker.GetAsync("/oidc/frontchannel/logout?iss=" + Uri.EscapeDataString(AuthlyApp.Issuer) + "&sid=" + victimSid);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.Multiple(async () =>
        {
            Assert.That((await victim.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True, "the victim's session ended");
            Assert.That((await attacker.SessionCheckAsync())["active"]!.GetValue<bool>(), Is.True, "the attacker's own session did not match the sid");
        });
    }
}
