using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Authly.Tests.E2E;

/// <summary>
/// A real headless Chromium driven through chromedriver with the W3C WebDriver protocol (plain
/// JSON over HTTP, no client package). Starting it fails with instructions when Chromium or
/// chromedriver is missing: browser tests never skip.
/// </summary>
public sealed class WebDriver : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string ChromedriverPath = "/usr/bin/chromedriver";
    private const string ElementKey = "element-6066-11e4-a52e-4f735466cecf";
    private const string InstallHint =
        "Install Chromium and its driver with 'apt-get install chromium chromium-driver' " +
        "(or run 'make test' as root, which runs 'scripts/ensure-deps.sh chromium').";

    private readonly Process _driver;
    private readonly HttpClient _http;
    private readonly string _session;
    private readonly string _profileDir;

    private WebDriver(Process driver, HttpClient http, string session, string profileDir)
    {
        _driver = driver;
        _http = http;
        _session = session;
        _profileDir = profileDir;
    }

    public static async Task<WebDriver> StartAsync()
    {
        if (!File.Exists(ChromiumPath) || !File.Exists(ChromedriverPath))
            Assert.Fail($"Chromium ({ChromiumPath}) or chromedriver ({ChromedriverPath}) is not installed. {InstallHint}");

        var port = FreePort();
        var profileDir = Path.Combine(Path.GetTempPath(), "authly-chromium-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(profileDir);
        var driver = Process.Start(new ProcessStartInfo(ChromedriverPath, [$"--port={port}", "--allowed-ips=127.0.0.1"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        }) ?? throw new AssertionException("chromedriver did not start. " + InstallHint);
        driver.OutputDataReceived += (_, _) => { };
        driver.ErrorDataReceived += (_, _) => { };
        driver.BeginOutputReadLine();
        driver.BeginErrorReadLine();

        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(90) };
        try
        {
            await WaitForDriverAsync(http, driver);
            var response = await http.PostAsync("session", Json(new
            {
                capabilities = new
                {
                    alwaysMatch = new Dictionary<string, object>
                    {
                        ["browserName"] = "chrome",
                        ["pageLoadStrategy"] = "normal",
                        ["goog:loggingPrefs"] = new { browser = "ALL" },
                        ["goog:chromeOptions"] = new
                        {
                            binary = ChromiumPath,
                            args = new[]
                            {
                                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                                "--disable-dev-shm-usage", "--no-proxy-server", "--window-size=1100,900", $"--user-data-dir={profileDir}",
                            },
                        },
                    },
                },
            }));
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            var session = body["value"]?["sessionId"]?.GetValue<string>();
            if (!response.IsSuccessStatusCode || session is null)
                throw new AssertionException($"Chromium did not start: {body["value"]?["message"]?.GetValue<string>() ?? body.ToJsonString()}");
            var driverClient = new WebDriver(driver, http, session, profileDir);
            await driverClient.SendAsync(HttpMethod.Post, "timeouts", new { @implicit = 0, pageLoad = 30_000, script = 15_000 });
            return driverClient;
        }
        catch (Exception e) when (e is not AssertionException)
        {
            Stop(driver, http, profileDir);
            Assert.Fail($"Could not start Chromium through chromedriver: {e.Message}. {InstallHint}");
            throw;
        }
        catch (AssertionException e)
        {
            Stop(driver, http, profileDir);
            Assert.Fail(e.Message + " " + InstallHint);
            throw;
        }
    }

    private static async Task WaitForDriverAsync(HttpClient http, Process driver)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            if (driver.HasExited) throw new InvalidOperationException($"chromedriver exited with code {driver.ExitCode}");
            try
            {
                var status = JsonNode.Parse(await http.GetStringAsync("status"));
                if (status?["value"]?["ready"]?.GetValue<bool>() == true) return;
            }
            catch (HttpRequestException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException("chromedriver did not become ready");
            await Task.Delay(100);
        }
    }

    /// <summary>A JSON body with Content-Length: chromedriver's HTTP server does not accept chunked requests.</summary>
    private static StringContent Json(object body) =>
        new(System.Text.Json.JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<JsonNode?> SendAsync(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, $"session/{_session}/{path}");
        if (body is not null) request.Content = Json(body);
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var json = JsonNode.Parse(text);
        if (!response.IsSuccessStatusCode)
            throw new AssertionException($"WebDriver {method} {path}: {json?["value"]?["error"]} {json?["value"]?["message"]}");
        return json?["value"];
    }

    public Task NavigateAsync(string url) => SendAsync(HttpMethod.Post, "url", new { url });

    public async Task<string> UrlAsync() => (await SendAsync(HttpMethod.Get, "url"))!.GetValue<string>();

    public async Task<string> SourceAsync() => (await SendAsync(HttpMethod.Get, "source"))!.GetValue<string>();

    /// <summary>Waits (polling, up to <paramref name="seconds"/>) for an element matching the CSS selector; returns its id.</summary>
    public async Task<string> FindAsync(string css, int seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"session/{_session}/element")
            {
                Content = Json(new { @using = "css selector", value = css }),
            };
            using var response = await _http.SendAsync(request);
            var json = JsonNode.Parse(await response.Content.ReadAsStringAsync());
            if (response.IsSuccessStatusCode) return json!["value"]![ElementKey]!.GetValue<string>();
            if (DateTime.UtcNow > deadline)
                throw new AssertionException($"no element '{css}' on {await UrlAsync()}:\n{await SourceAsync()}");
            await Task.Delay(100);
        }
    }

    public Task TypeAsync(string element, string text) => SendAsync(HttpMethod.Post, $"element/{element}/value", new { text });

    public Task ClickAsync(string element) => SendAsync(HttpMethod.Post, $"element/{element}/click", new { });

    /// <summary>Waits until the address bar satisfies <paramref name="condition"/>; returns the URL.</summary>
    public async Task<string> WaitForUrlAsync(Func<string, bool> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var url = await UrlAsync();
            if (condition(url)) return url;
            if (DateTime.UtcNow > deadline)
                throw new AssertionException($"the browser did not reach {what}; it is on {url}\nconsole: {await ConsoleAsync()}\n{await SourceAsync()}");
            await Task.Delay(100);
        }
    }

    /// <summary>Runs an asynchronous script in the page; the script calls arguments[arguments.length-1] with its result.</summary>
    public async Task<JsonNode?> ExecuteAsyncScriptAsync(string script, params object[] args) =>
        await SendAsync(HttpMethod.Post, "execute/async", new { script, args });

    /// <summary>The browser console so far (CSP violations, script errors), for failure messages.</summary>
    public async Task<string> ConsoleAsync()
    {
        try
        {
            var entries = (await SendAsync(HttpMethod.Post, "se/log", new { type = "browser" }))?.AsArray() ?? [];
            return string.Join("\n", entries.Select(e => $"{e?["level"]}: {e?["message"]}"));
        }
        catch (AssertionException e) { return "(no console log: " + e.Message + ")"; }
    }

    public async Task<byte[]> ScreenshotAsync() => Convert.FromBase64String((await SendAsync(HttpMethod.Get, "screenshot"))!.GetValue<string>());

    public async ValueTask DisposeAsync()
    {
        try { await SendAsync(HttpMethod.Delete, ""); } catch (Exception) { /* the process is stopped below either way */ }
        Stop(_driver, _http, _profileDir);
    }

    private static void Stop(Process driver, HttpClient http, string profileDir)
    {
        try { if (!driver.HasExited) driver.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        driver.WaitForExit(5000);
        driver.Dispose();
        http.Dispose();
        try { Directory.Delete(profileDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
