using System.Net;
using Authly.Mfa;
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
        var hidden = BrowserFlow.HiddenFields(stepHtml[..(stepHtml.IndexOf("</form>", StringComparison.Ordinal) + 7)]);
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
}
