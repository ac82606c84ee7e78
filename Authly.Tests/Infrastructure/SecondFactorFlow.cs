using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Authly.Mfa;
using Authly.Passkeys;
using Authly.Users;
using Microsoft.Extensions.DependencyInjection;

namespace Authly.Tests.Infrastructure;

/// <summary>Second factors in tests: enrol a user's TOTP through the store, compute codes on the server's <see cref="TestClock"/>, drive the step page.</summary>
public static class SecondFactorFlow
{
    /// <summary>Enrols (and confirms) a TOTP for the user, then moves the clock one step on so the next code is unused.</summary>
    public static async Task<byte[]> EnrolTotpAsync(this AuthlyApp app, Guid userId, TestClock clock)
    {
        var totp = app.Services.GetRequiredService<TotpStore>();
        var secret = await totp.StartEnrolmentAsync(userId, CancellationToken.None) ?? throw new AssertionException("already enrolled");
        Assert.That(await totp.ConfirmAsync(userId, TotpVerifier.CodeAt(secret, clock.GetUtcNow()), CancellationToken.None), Is.True, "confirm");
        clock.Advance(TimeSpan.FromSeconds(TotpVerifier.StepSeconds));
        return secret;
    }

    public static Task<IReadOnlyList<string>> RecoveryCodesAsync(this AuthlyApp app, Guid userId) =>
        app.Services.GetRequiredService<RecoveryCodeStore>().RegenerateAsync(userId, CancellationToken.None);

    public static string Code(byte[] secret, TestClock clock) => TotpVerifier.CodeAt(secret, clock.GetUtcNow());

    public static bool IsStepPage(string html) => html.Contains("action=\"/login/second-factor\"", StringComparison.Ordinal);

    /// <summary>Submits <paramref name="code"/> for <paramref name="factor"/> on the step page <paramref name="stepHtml"/>.</summary>
    public static Task<HttpResponseMessage> SubmitSecondFactorAsync(this BrowserFlow browser, string stepHtml, string code, string factor = SecondFactors.Totp)
    {
        Assert.That(IsStepPage(stepHtml), Is.True, "not the second-factor page: " + stepHtml);
        // The page has one form per factor, with the same hidden fields: the first form's are enough.
        var form = stepHtml[stepHtml.IndexOf("action=\"/login/second-factor\"", StringComparison.Ordinal)..];
        var hidden = BrowserFlow.HiddenFields(form[..(form.IndexOf("</form>", StringComparison.Ordinal) + 7)]);
        return browser.PostFormAsync("/login/second-factor", new Dictionary<string, string>
        {
            ["csrf_token"] = hidden["csrf_token"], ["return_to"] = hidden["return_to"], ["factor"] = factor, ["code"] = code,
        });
    }

    /// <summary>Opens the authorize URL, signs in with the password, and returns the second-factor page's HTML.</summary>
    public static async Task<string> PasswordThenStepAsync(this BrowserFlow browser, BrowserFlow.Request request, TestUsers.TestUser user)
    {
        var login = await BrowserFlow.HtmlAsync(await browser.GetAsync(request.Url));
        var posted = await browser.SubmitLoginAsync(login, user.Username, user.Password);
        Assert.That(posted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await posted.Content.ReadAsStringAsync());
        Assert.That(posted.Headers.Location!.OriginalString, Does.StartWith("/login/second-factor"));
        return await BrowserFlow.HtmlAsync(await browser.FollowAsync(posted));
    }

    /// <summary>Registers a passkey for the user through <see cref="PasskeyRegistration"/> (as the account page does), answered by <paramref name="authenticator"/>.</summary>
    public static async Task<SoftAuthenticator> RegisterPasskeyAsync(this AuthlyApp app, Guid userId, SoftAuthenticator? authenticator = null)
    {
        var user = await app.Services.GetRequiredService<UserStore>().FindByIdAsync(userId, CancellationToken.None) ?? throw new AssertionException("no such user");
        var registration = app.Services.GetRequiredService<PasskeyRegistration>();
        var ceremony = await registration.BeginAsync(user, CancellationToken.None);
        authenticator ??= new SoftAuthenticator();
        var credential = authenticator.Create(JsonNode.Parse(ceremony.Options)!.AsObject());
        await registration.FinishAsync(userId, ceremony.Handle, JsonSerializer.SerializeToElement(credential), "Test key", CancellationToken.None);
        return authenticator;
    }

    public static bool OffersPasskey(string stepHtml) => stepHtml.Contains("id=\"passkey-2fa-btn\"", StringComparison.Ordinal);

    /// <summary>The step page's CSRF token and return_to (as /static/passkeys.js reads them).</summary>
    public static (string Csrf, string ReturnTo) PasskeyStepFields(string stepHtml)
    {
        Assert.That(OffersPasskey(stepHtml), Is.True, "the step page offers no passkey: " + stepHtml);
        var returnTo = System.Text.RegularExpressions.Regex.Match(stepHtml, "id=\"passkey-2fa-btn\" data-return-to=\"([^\"]*)\"").Groups[1].Value;
        var block = stepHtml[stepHtml.IndexOf("id=\"passkey-2fa\"", StringComparison.Ordinal)..];
        block = block[..block.IndexOf("</div>", StringComparison.Ordinal)];
        return (BrowserFlow.HiddenFields(block)["csrf_token"], WebUtility.HtmlDecode(returnTo));
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this BrowserFlow browser, string path, JsonObject body) =>
        browser.Http.PostAsync(path, new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));

    /// <summary>POST /login/second-factor/passkey/options with the step page's token: the WebAuthn request options for the pending user.</summary>
    public static async Task<JsonObject> PasskeyStepOptionsAsync(this BrowserFlow browser, string stepHtml)
    {
        var response = await browser.PostJsonAsync("/login/second-factor/passkey/options", new JsonObject { ["csrf_token"] = PasskeyStepFields(stepHtml).Csrf });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    /// <summary>POST /login/second-factor/passkey with <paramref name="credential"/> (an assertion) and the step page's token and return_to.</summary>
    public static Task<HttpResponseMessage> SubmitPasskeyStepAsync(this BrowserFlow browser, string stepHtml, JsonObject credential)
    {
        var (csrf, returnTo) = PasskeyStepFields(stepHtml);
        return browser.PostJsonAsync("/login/second-factor/passkey",
            new JsonObject { ["csrf_token"] = csrf, ["return_to"] = returnTo, ["credential"] = credential.DeepClone() });
    }
}
