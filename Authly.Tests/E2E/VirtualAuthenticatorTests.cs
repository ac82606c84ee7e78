using OpenQA.Selenium;
using OpenQA.Selenium.VirtualAuth;

namespace Authly.Tests.E2E;

/// <summary>
/// The WebAuthn extension of WebDriver (W3C Web Authentication §11, "Automation") through Selenium and
/// Debian's chromedriver: the ground the passkey tests of issue 16 stand on. If this fails, passkeys
/// cannot be tested in a real browser here.
/// </summary>
[TestFixture, Category("E2E"), NonParallelizable]
public sealed class VirtualAuthenticatorTests
{
    [Test, Description("WebAuthn §11.3-11.7: add a virtual authenticator, list its credentials (none), remove it")]
    public async Task VirtualAuthenticator_AddListRemove_WorksWithDebianChromedriver()
    {
        await using var browser = Chromium.Start();
        browser.Navigate().GoToUrl("about:blank");

        var options = new VirtualAuthenticatorOptions()
            .SetProtocol(VirtualAuthenticatorOptions.Protocol.CTAP2)
            .SetTransport(VirtualAuthenticatorOptions.Transport.INTERNAL)
            .SetHasResidentKey(true)
            .SetHasUserVerification(true)
            .SetIsUserVerified(true);
        var id = browser.AddVirtualAuthenticator(options);

        Assert.That(id, Is.Not.Empty);
        Assert.That(browser.AuthenticatorId, Is.EqualTo(id));
        Assert.That(browser.GetCredentials(), Is.Empty, "a new virtual authenticator holds no credentials");

        browser.RemoveVirtualAuthenticator(id);
        Assert.That(browser.AuthenticatorId, Is.Null);
        // chromedriver no longer knows the id: removing it twice is refused by the driver, not by Selenium.
        var again = Assert.Throws<WebDriverArgumentException>(() => browser.RemoveVirtualAuthenticator(id));
        Assert.That(again!.Message, Does.Contain(id).Or.Contain("Virtual Authenticator"));
    }
}
