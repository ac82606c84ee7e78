using Authly.Tests.Cluster;
using Authly.Tests.Infrastructure;
using OtpNet;

namespace Authly.Tests.E2E;

/// <summary>
/// TOTP in Debian's Chromium (issue 16): a user who must have a second factor signs in with the password, is sent
/// to the enrolment page, types the code an authenticator app would compute from the key shown as text (computed
/// here with Otp.NET, as the app would), keeps the recovery codes, and later signs in with password + code.
/// </summary>
[TestFixture, Category("E2E"), NonParallelizable]
public sealed class TotpBrowserTests
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

    [Test, Description("Issue 16, RFC 6238: enrolment after the password (mfa_required), recovery codes shown once, then a login with password + TOTP code; amr pwd + otp + mfa")]
    public async Task Totp_EnrolledAfterPassword_ThenSignsInWithCode()
    {
        var user = await _app.CreateUserAsync();
        await _app.SqlScalarAsync<int>("UPDATE users SET mfa_required = true WHERE id = @Id RETURNING 1", new { Id = user.Id });
        await using var browser = Chromium.Start();

        browser.Navigate().GoToUrl(_issuer + "/login?return_to=%2Faccount%2Fmfa");
        browser.Find("#username").SendKeys(user.Username);
        browser.Find("#password").SendKeys(user.Password);
        browser.Find("#login-btn").Click();
        browser.WaitForUrl(u => u.Contains("/login/enrol", StringComparison.Ordinal), "the enrolment page");
        Assert.That(browser.Find("#totp-qr").GetAttribute("src"), Does.StartWith("data:image/png;base64,"), "the QR code");
        var totp = new Totp(Base32Encoding.ToBytes(browser.Find("#totp-secret").Text.Trim()));

        browser.Find("#code").SendKeys(totp.ComputeTotp(DateTime.UtcNow));
        browser.Find("#enrol-btn").Click();
        Assert.That(browser.FindElements(OpenQA.Selenium.By.CssSelector("#recovery-codes li")), Has.Count.EqualTo(10), Chromium.ConsoleLog(browser));
        browser.Find("#continue-link").Click();
        browser.WaitForUrl(u => u.EndsWith("/account/mfa", StringComparison.Ordinal), "the account page");
        Assert.That(browser.Find("#totp-status").Text, Does.Contain("on"));

        // Sign out, then password + code. The code of the next time step: inside the ±1 window, and after the step
        // the enrolment used (a code is good once), so the test need not wait for the clock.
        browser.Navigate().GoToUrl(_issuer + "/oidc/logout");
        browser.Find("#logout-btn").Click();
        new OpenQA.Selenium.Support.UI.WebDriverWait(browser, Chromium.WaitLimit).Until(b => b.PageSource.Contains("You are signed out", StringComparison.Ordinal));
        browser.Navigate().GoToUrl(_issuer + "/login?return_to=%2Faccount%2Fmfa");
        browser.Find("#username").SendKeys(user.Username);
        browser.Find("#password").SendKeys(user.Password);
        browser.Find("#login-btn").Click();
        browser.WaitForUrl(u => u.Contains("/login/second-factor", StringComparison.Ordinal), "the second-factor step");
        browser.Find("#code").SendKeys(totp.ComputeTotp(DateTime.UtcNow.AddSeconds(30)));
        browser.Find("#verify-btn").Click();
        browser.WaitForUrl(u => u.EndsWith("/account/mfa", StringComparison.Ordinal), "the account page after the second step");

        var amr = await _app.SqlScalarAsync<string[]>(
            "SELECT amr FROM sessions WHERE user_id = @Id AND ended_at IS NULL ORDER BY created_at DESC LIMIT 1", new { Id = user.Id });
        Assert.That(amr, Is.EqualTo(new[] { "pwd", "otp", "mfa" }));
    }
}
