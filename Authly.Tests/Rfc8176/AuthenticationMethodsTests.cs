using Authly.Mfa;
using Authly.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Authly.Tests.Rfc8176;

/// <summary>RFC 8176 amr values and OIDC Core §2 acr in ID tokens, and acr_values_supported in discovery.</summary>
[TestFixture, Category("RFC8176")]
public sealed class AuthenticationMethodsTests : RelyingPartyFixture
{
    private readonly TestClock _clock = new(DateTimeOffset.UtcNow);
    protected override TimeProvider? Clock => _clock;

    [Test, Description("RFC 8176 §2: registered values only, mfa with the methods that made it")]
    public void SecondFactor_AddsItsMethodAndMfa()
    {
        Assert.That(AuthenticationMethods.WithSecondFactor(AuthenticationMethods.AfterPassword, "otp"), Is.EqualTo(new[] { "pwd", "otp", "mfa" }));
        Assert.That(AuthenticationMethods.WithSecondFactor(["pwd", "otp", "mfa"], "hwk"), Is.EqualTo(new[] { "pwd", "otp", "hwk", "mfa" }));
        Assert.That(AuthenticationMethods.AcrOf(["pwd"]), Is.EqualTo(AuthenticationMethods.AcrPassword));
        Assert.That(AuthenticationMethods.AcrOf(["pwd", "otp", "mfa"]), Is.EqualTo(AuthenticationMethods.AcrMultiFactor));
        Assert.That(() => AuthenticationMethods.WithSecondFactor(["pwd"], "pwd"), Throws.ArgumentException);
    }

    [Test, Description("RFC 8176 §2 pwd; OIDC Core §2 acr")]
    public async Task IdToken_AfterPasswordOnly_SaysPwd()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var tokens = await browser.TokensAsync(new BrowserFlow.Request(_clientId, Redirect, "openid"), user);
        var jwt = new JsonWebToken(AuthlyApp.Str(tokens, "id_token"));
        Assert.That(jwt.GetPayloadValue<string[]>("amr"), Is.EqualTo(new[] { "pwd" }));
        Assert.That(jwt.GetPayloadValue<string>("acr"), Is.EqualTo("urn:authly:acr:pwd"));
    }

    [Test, Description("RFC 8176 §2 pwd + otp + mfa after a TOTP code; acr urn:authly:acr:mfa")]
    public async Task IdToken_AfterTotp_SaysPwdOtpMfa()
    {
        var user = await _app.RegisterUserAsync();
        var secret = await _app.EnrolTotpAsync(user.Id, _clock);
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect, "openid");
        var step = await browser.PasswordThenStepAsync(request, user);
        var done = await browser.SubmitSecondFactorAsync(step, SecondFactorFlow.Code(secret, _clock));
        Assert.That(done.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.Redirect), await done.Content.ReadAsStringAsync());
        var tokens = await browser.TokensAsync(request, user); // the session now exists: consent, then the code
        var jwt = new JsonWebToken(AuthlyApp.Str(tokens, "id_token"));
        Assert.That(jwt.GetPayloadValue<string[]>("amr"), Is.EqualTo(new[] { "pwd", "otp", "mfa" }));
        Assert.That(jwt.GetPayloadValue<string>("acr"), Is.EqualTo("urn:authly:acr:mfa"));
    }

    [Test, Description("OpenID Connect Discovery 1.0 §3 acr_values_supported")]
    public async Task Discovery_AdvertisesAcrValues()
    {
        var doc = await AuthlyApp.JsonAsync(await _app.CreateClient().GetAsync("/.well-known/openid-configuration"));
        Assert.That(doc["acr_values_supported"]!.AsArray().Select(v => v!.GetValue<string>()), Is.EqualTo(new[] { "urn:authly:acr:pwd", "urn:authly:acr:mfa" }));
        Assert.That(doc["claims_supported"]!.AsArray().Select(v => v!.GetValue<string>()), Does.Contain("amr").And.Contain("acr"));
    }
}
