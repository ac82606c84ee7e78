using Authly.Tests.Cluster;
using Authly.Tests.Infrastructure;
using OpenQA.Selenium.VirtualAuth;

namespace Authly.Tests.E2E;

/// <summary>
/// Passkeys in Debian's Chromium with WebDriver's virtual authenticator (WebAuthn §11): the account
/// page's script registers a discoverable credential, and after signing out the login page's
/// "Sign in with a passkey" signs the user in without a password. Authly runs on Kestrel with an
/// issuer on <c>localhost</c>, since WebAuthn refuses an IP address as rp id.
/// </summary>
[TestFixture, Category("E2E"), NonParallelizable]
public sealed class PasskeyBrowserTests
{
    private AuthlyApp _app = null!;
    private string _issuer = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var port = AuthlyNode.FreePort();
        _issuer = $"http://localhost:{port}";
        _app = await AuthlyApp.StartOnKestrelAsync(port, new Dictionary<string, string?> { ["AUTHLY_ISSUER"] = _issuer });
    }

    [OneTimeTearDown]
    public void Stop() => _app.Dispose();

    [Test, Description("Issue 16: register a passkey from the account page, sign out, sign in with the passkey alone")]
    public async Task Passkey_RegisteredOnAccountPage_SignsInWithoutPassword()
    {
        var user = await _app.CreateUserAsync();
        await using var browser = Chromium.Start();
        browser.Navigate().GoToUrl(_issuer + "/login");
        browser.AddVirtualAuthenticator(new VirtualAuthenticatorOptions()
            .SetProtocol(VirtualAuthenticatorOptions.Protocol.CTAP2)
            .SetTransport(VirtualAuthenticatorOptions.Transport.INTERNAL)
            .SetHasResidentKey(true)
            .SetHasUserVerification(true)
            .SetIsUserVerified(true));

        // Password sign-in, then the account page.
        browser.Navigate().GoToUrl(_issuer + "/login?return_to=%2Faccount%2Fpasskeys");
        browser.Find("#username").SendKeys(user.Username);
        browser.Find("#password").SendKeys(user.Password);
        browser.Find("#login-btn").Click();
        browser.WaitForUrl(u => u.EndsWith("/account/passkeys", StringComparison.Ordinal), "the account page");
        browser.Find("#no-passkeys");

        browser.Find("#passkey-name").SendKeys("Virtual key");
        browser.Find("#add-passkey-btn").Click();
        var listed = browser.Find("#passkey-list .passkey-name");
        Assert.That(listed.Text, Is.EqualTo("Virtual key"), Chromium.ConsoleLog(browser));
        Assert.That(browser.GetCredentials(), Has.Count.EqualTo(1), "the authenticator holds the new credential");
        Assert.That(browser.GetCredentials()[0].IsResidentCredential, Is.True, "a discoverable credential");

        // Sign out (RP-initiated logout's confirmation), then the passkey alone.
        browser.Navigate().GoToUrl(_issuer + "/oidc/logout");
        browser.Find("#logout-btn").Click();
        new OpenQA.Selenium.Support.UI.WebDriverWait(browser, Chromium.WaitLimit).Until(b => b.PageSource.Contains("You are signed out", StringComparison.Ordinal));
        browser.Navigate().GoToUrl(_issuer + "/account/passkeys");
        browser.WaitForUrl(u => u.Contains("/login?", StringComparison.Ordinal), "the login page (signed out)");

        browser.Find("#passkey-login-btn").Click();
        browser.WaitForUrl(u => u.EndsWith("/account/passkeys", StringComparison.Ordinal), "the account page after the passkey sign-in");
        Assert.That(browser.Find("#passkey-list .muted").Text, Does.Contain("last used"), Chromium.ConsoleLog(browser));
        var amr = await _app.SqlScalarAsync<string[]>(
            "SELECT amr FROM sessions WHERE user_id = @Id AND ended_at IS NULL AND amr IS NOT NULL", new { Id = user.Id });
        Assert.That(amr, Has.Member("user").And.Some.Matches<string>(m => m is "hwk" or "swk"));
    }
}
