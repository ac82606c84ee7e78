using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Authly.Tests.E2E;

/// <summary>
/// Debian's headless Chromium driven by Selenium through Debian's chromedriver. Both paths are given
/// explicitly, so Selenium Manager (which would download a driver) is never asked; SE_OFFLINE keeps it
/// off the network should anything call it. Starting fails with instructions when Chromium or
/// chromedriver is missing: browser tests never skip.
/// </summary>
public static class Chromium
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string ChromedriverPath = "/usr/bin/chromedriver";
    private const string InstallHint =
        "Install Chromium and its driver with 'apt-get install chromium chromium-driver' " +
        "(or run 'make test' as root, which runs 'scripts/ensure-deps.sh chromium').";

    /// <summary>How long a wait for an element or an address polls before it fails with the page in the message.</summary>
    public static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(20);

    public static ChromeDriver Start()
    {
        if (!File.Exists(ChromiumPath) || !File.Exists(ChromedriverPath))
            Assert.Fail($"Chromium ({ChromiumPath}) or chromedriver ({ChromedriverPath}) is not installed. {InstallHint}");
        Environment.SetEnvironmentVariable("SE_OFFLINE", "true");

        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromedriverPath)!, Path.GetFileName(ChromedriverPath));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = ChromiumPath, PageLoadStrategy = PageLoadStrategy.Normal };
        // chromedriver gives the browser a temporary profile of its own and deletes it on quit.
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--no-proxy-server", "--window-size=1100,900");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        try
        {
            var driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(90));
            driver.Manage().Timeouts().ImplicitWait = TimeSpan.Zero;
            driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(30);
            driver.Manage().Timeouts().AsynchronousJavaScript = TimeSpan.FromSeconds(15);
            return driver;
        }
        catch (WebDriverException e)
        {
            service.Dispose();
            Assert.Fail($"Could not start Chromium through chromedriver: {e.Message} {InstallHint}");
            throw;
        }
    }

    /// <summary>Waits for an element matching the CSS selector; fails with the address and the page source.</summary>
    public static IWebElement Find(this IWebDriver browser, string css) =>
        Until(browser, b => b.FindElements(By.CssSelector(css)).FirstOrDefault(), $"an element '{css}'");

    /// <summary>Waits until the address bar satisfies <paramref name="condition"/>; returns the URL.</summary>
    public static string WaitForUrl(this IWebDriver browser, Func<string, bool> condition, string what) =>
        Until(browser, b => condition(b.Url) ? b.Url : null, what);

    private static T Until<T>(IWebDriver browser, Func<IWebDriver, T?> condition, string what) where T : class
    {
        var wait = new WebDriverWait(browser, WaitLimit) { PollingInterval = TimeSpan.FromMilliseconds(100) };
        try
        {
            return wait.Until(condition)!;
        }
        catch (WebDriverTimeoutException)
        {
            Assert.Fail($"the browser did not reach {what}; it is on {browser.Url}\nconsole: {ConsoleLog(browser)}\n{browser.PageSource}");
            throw;
        }
    }

    /// <summary>The browser console so far (CSP violations, script errors), for failure messages.</summary>
    public static string ConsoleLog(IWebDriver browser)
    {
        try
        {
            return string.Join("\n", browser.Manage().Logs.GetLog(LogType.Browser).Select(e => $"{e.Level}: {e.Message}"));
        }
        catch (WebDriverException e) { return "(no console log: " + e.Message + ")"; }
    }
}
