using System.Net;
using Authly.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;

namespace Authly.Tests.Attacks;

/// <summary>
/// Threat class: ending someone else's session (issue #11 finding 6). Rule: a session ends only for
/// a request that carries that session's cookie (RP-Initiated Logout with a hint of the signed-in
/// user, or the CSRF-protected confirmation); id_token_hint identifies the RP and the user, it never
/// authorizes. OpenID Connect RP-Initiated Logout 1.0 §2 (the OP asks unless the hint matches the
/// current session), §6 (logout requests as a denial of service); Front-Channel Logout 1.0 §2.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class LogoutAttacks : RelyingPartyFixture
{
    protected override Task<string> RegisterRelyingPartyAsync() => BrowserFlow.CreatePublicClientAsync(_app, [Redirect], postLogoutRedirectUris: [PostLogout]);

    private const string PostLogout = "https://rp.example/signed-out";

    private BrowserFlow.Request Request(string? prompt = null) =>
        new(_clientId, Redirect) { Extra = new Dictionary<string, string?> { ["prompt"] = prompt } };

    /// <summary>A browser signed in as <paramref name="user"/> (a fresh user when null), with the ID token its RP received.</summary>
    private async Task<(BrowserFlow Browser, string IdToken)> SignedInAsync(TestUsers.TestUser? user = null)
    {
        user ??= await _app.RegisterUserAsync();
        var browser = new BrowserFlow(_app);
        var tokens = await browser.TokensAsync(Request(), user);
        Assert.That(await IsActiveAsync(browser), Is.True);
        return (browser, AuthlyApp.Str(tokens, "id_token"));
    }

    private static async Task<bool> IsActiveAsync(BrowserFlow browser) => (await browser.SessionCheckAsync())["active"]!.GetValue<bool>();

    /// <summary>The session is not only marked active: it still signs the user in silently (prompt=none gives a code).</summary>
    private async Task AssertSessionStillWorksAsync(BrowserFlow browser)
    {
        Assert.That(await IsActiveAsync(browser), Is.True, "the session is still active");
        var silent = await browser.GetAsync(Request(prompt: "none").Url);
        Assert.That(silent.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(BrowserFlow.Query(silent.Headers.Location!).ContainsKey("code"), Is.True, "prompt=none still yields a code: " + silent.Headers.Location);
    }

    private static string LogoutUrl(params (string Key, string Value)[] p) =>
        QueryHelpers.AddQueryString("/oidc/logout", p.Select(x => new KeyValuePair<string, string?>(x.Key, x.Value)));

    [TestCase("GET")]
    [TestCase("POST")]
    [Description("RP-Initiated Logout §2, §6: a request without the victim's cookie, carrying the victim's id_token_hint, ends nothing")]
    public async Task CookielessLogout_WithVictimsIdTokenHint_KeepsVictimsSession(string method)
    {
        var (victim, idToken) = await SignedInAsync();
        using var _v = victim;
        using var attacker = new BrowserFlow(_app);
        var response = method == "GET"
            ? await attacker.GetAsync(LogoutUrl(("id_token_hint", idToken), ("post_logout_redirect_uri", PostLogout), ("state", "s")))
            : await attacker.PostFormAsync("/oidc/logout", new Dictionary<string, string>
            {
                ["id_token_hint"] = idToken, ["post_logout_redirect_uri"] = PostLogout, ["state"] = "s",
            });
        Assert.That((int)response.StatusCode, Is.LessThan(500));
        await AssertSessionStillWorksAsync(victim);
    }

    [Test, Description("RP-Initiated Logout §2: confirming a logout that carries another user's hint ends only the confirming browser's session")]
    public async Task ConfirmedLogout_WithAnotherUsersHint_EndsOnlyOwnSession()
    {
        var (victim, victimIdToken) = await SignedInAsync();
        using var _v = victim;
        var (attacker, _) = await SignedInAsync();
        using var _a = attacker;
        var confirm = await BrowserFlow.HtmlAsync(await attacker.GetAsync(LogoutUrl(("id_token_hint", victimIdToken), ("post_logout_redirect_uri", PostLogout))));
        Assert.That(confirm, Does.Contain("id=\"logout-btn\""), "a foreign hint is asked about");
        var confirmed = await attacker.PostFormAsync("/oidc/logout", BrowserFlow.HiddenFields(confirm));
        Assert.That((int)confirmed.StatusCode, Is.LessThan(500));
        Assert.That(await IsActiveAsync(attacker), Is.False, "the attacker signed themselves out");
        await AssertSessionStillWorksAsync(victim);
    }

    [Test, Description("RP-Initiated Logout §2: a hint naming another session of the same user ends only the session whose cookie came with the request")]
    public async Task Logout_WithHintOfOwnOtherSession_EndsOnlyTheCookiesSession()
    {
        var user = await _app.RegisterUserAsync();
        var (laptop, laptopIdToken) = await SignedInAsync(user);
        using var _l = laptop;
        var (phone, _) = await SignedInAsync(user);
        using var _p = phone;
        var response = await phone.GetAsync(LogoutUrl(("id_token_hint", laptopIdToken), ("post_logout_redirect_uri", PostLogout)));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the user's own hint: no question asked");
        Assert.That(await IsActiveAsync(phone), Is.False, "the browser that asked is signed out");
        await AssertSessionStillWorksAsync(laptop);
    }

    [Test, Description("RP-Initiated Logout §2, RFC 9700 §4.7: a confirmation pair fetched anonymously and planted in the victim's browser ends nothing")]
    public async Task LogoutConfirmation_WithAnonymousCsrfPairPlantedInVictim_KeepsSession()
    {
        var (victim, _) = await SignedInAsync();
        using var _v = victim;
        using var attacker = new BrowserFlow(_app);
        var page = await BrowserFlow.HtmlAsync(await attacker.GetAsync(LogoutUrl(("client_id", _clientId))));
        var fields = BrowserFlow.HiddenFields(page);
        Assert.That(fields.ContainsKey("csrf_token"), Is.True, page);
        victim.PlantCookie("authly_csrf", attacker.Cookie("authly_csrf")!);
        var response = await victim.PostFormAsync("/oidc/logout", fields);
        Assert.That(response.Headers.Location, Is.Null, "no redirect: not confirmed");
        await AssertSessionStillWorksAsync(victim);
    }

    [Test, Description("Front-Channel Logout §2: the victim's sid without the victim's cookie ends nothing")]
    public async Task FrontChannelLogout_WithVictimsSidButNoCookie_KeepsSession()
    {
        var (victim, _) = await SignedInAsync();
        using var _v = victim;
        var sid = AuthlyApp.Str(await victim.SessionCheckAsync(), "sid");
        using var attacker = new BrowserFlow(_app);
        var response = await attacker.GetAsync("/oidc/frontchannel/logout?iss=" + Uri.EscapeDataString(AuthlyApp.Issuer) + "&sid=" + Uri.EscapeDataString(sid));
        Assert.That((int)response.StatusCode, Is.LessThan(500));
        await AssertSessionStillWorksAsync(victim);
    }

    [Test, Description("Front-Channel Logout §2, RP-Initiated Logout §6: a link to the front-channel endpoint without the session's sid (logout CSRF) ends nothing")]
    public async Task FrontChannelLogout_LinkWithoutSid_KeepsSession()
    {
        var (victim, _) = await SignedInAsync();
        using var _v = victim;
        var response = await victim.GetAsync("/oidc/frontchannel/logout");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "sid is required to name the session to end");
        await AssertSessionStillWorksAsync(victim);
    }
}
