using System.Net;
using Authly.Tests.Infrastructure;
using static Authly.Tests.Rfc8707.ResourceIndicatorTests;

namespace Authly.Tests.Attacks;

/// <summary>Issue 17, RFC 8707: a client reaching for an audience it was not given. Each must fail for the attacker.</summary>
[TestFixture, Category("Attacks")]
public sealed class ResourceIndicatorAttacks : RelyingPartyFixture
{
    protected override async Task<string> RegisterRelyingPartyAsync() => (await _app.CreateClientAsync(new
    {
        client_name = "Resource RP", client_type = "public", redirect_uris = new[] { Redirect }, scope = "openid offline_access",
        grant_types = new[] { "authorization_code", "refresh_token" }, resources = new[] { Orders, Billing },
    })).Id;

    private async Task<(BrowserFlow.Request Request, string Code)> CodeForAsync(BrowserFlow browser, string resource)
    {
        var user = await _app.RegisterUserAsync();
        var request = new BrowserFlow.Request(_clientId, Redirect, Scope: "openid offline_access")
        {
            Extra = new Dictionary<string, string?> { ["resource"] = resource },
        };
        return (request, await browser.CodeAsync(request, user));
    }

    private Task<HttpResponseMessage> RedeemAsync(BrowserFlow.Request request, string code, string resource) =>
        _app.PostFormAsync(TokenPath, ("grant_type", "authorization_code"), ("client_id", _clientId), ("code", code),
            ("redirect_uri", Redirect), ("code_verifier", request.Verifier), ("resource", resource));

    [Test, Description("RFC 8707 §2: a client asking for a resource registered only for another client gets invalid_target and no token")]
    public async Task ClientCredentials_UnregisteredResource_IsInvalidTarget()
    {
        var victim = await ServiceAsync(_app, "https://payroll.example/");
        var attacker = await ServiceAsync(_app, Orders);
        await OAuthAssert.ErrorAsync(await ClientCredentialsAsync(_app, attacker, "https://payroll.example/"), HttpStatusCode.BadRequest, "invalid_target");
        await OAuthAssert.ErrorAsync(await ClientCredentialsAsync(_app, attacker, Orders, "https://payroll.example/"), HttpStatusCode.BadRequest, "invalid_target");
        await OAuthAssert.TokenAsync(await ClientCredentialsAsync(_app, victim, "https://payroll.example/"));
    }

    [TestCase("https://orders.example/api#frag", TestName = "Resource_WithFragment_IsInvalidTarget")]
    [TestCase("/api", TestName = "Resource_Relative_IsInvalidTarget")]
    [TestCase("orders.example/api", TestName = "Resource_WithoutScheme_IsInvalidTarget")]
    [Description("RFC 8707 §2: a resource must be an absolute URI without a fragment; else invalid_target at the token endpoint and at /authorize")]
    public async Task Resource_Malformed_IsInvalidTarget(string resource)
    {
        var service = await ServiceAsync(_app, Orders, Billing);
        await OAuthAssert.ErrorAsync(await ClientCredentialsAsync(_app, service, resource), HttpStatusCode.BadRequest, "invalid_target");
        using var browser = new BrowserFlow(_app);
        var user = await _app.RegisterUserAsync();
        var request = new BrowserFlow.Request(_clientId, Redirect, Scope: "openid") { Extra = new Dictionary<string, string?> { ["resource"] = resource } };
        Assert.That(BrowserFlow.Query(await browser.AuthorizeAsync(request, user)).GetValueOrDefault("error"), Is.EqualTo("invalid_target"));
    }

    [Test, Description("RFC 8707 §2.2: a token request may not widen the resources of the authorization request; the code is burned")]
    public async Task TokenRequest_WideningResource_IsInvalidTarget()
    {
        using var browser = new BrowserFlow(_app);
        var (request, code) = await CodeForAsync(browser, Orders);
        // Billing is registered for the client, but was not asked for at /authorize.
        await OAuthAssert.ErrorAsync(await RedeemAsync(request, code, Billing), HttpStatusCode.BadRequest, "invalid_target");
        await OAuthAssert.ErrorAsync(await RedeemAsync(request, code, Orders), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Test, Description("RFC 8707: a refresh may not widen to a resource outside the original grant; the refresh token stays usable")]
    public async Task Refresh_WideningResource_IsInvalidTarget()
    {
        using var browser = new BrowserFlow(_app);
        var (request, code) = await CodeForAsync(browser, Orders);
        var tokens = await OAuthAssert.TokenAsync(await RedeemAsync(request, code, Orders));
        var refresh = AuthlyApp.Str(tokens, "refresh_token");
        foreach (var widened in new[] { Billing, _app.Server.BaseAddress.ToString() + "elsewhere" })
            await OAuthAssert.ErrorAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("client_id", _clientId),
                ("refresh_token", refresh), ("resource", widened)), HttpStatusCode.BadRequest, "invalid_target");
        var again = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "refresh_token"), ("client_id", _clientId),
            ("refresh_token", refresh)));
        Assert.That(Aud(AuthlyApp.Str(again, "access_token")).GetString(), Is.EqualTo(Orders));
    }

    [Test, Description("RFC 8707 / RFC 9068 §4: a token for resource A is not accepted by Authly's own APIs: userinfo, the account API, introspection")]
    public async Task TokenForResource_UsedAtAuthlysOwnApi_IsRefused()
    {
        using var browser = new BrowserFlow(_app);
        var (request, code) = await CodeForAsync(browser, Orders);
        var access = AuthlyApp.Str(await OAuthAssert.TokenAsync(await RedeemAsync(request, code, Orders)), "access_token");
        var http = _app.BearerClient(access);
        Assert.That((await http.GetAsync("/oidc/userinfo")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await http.GetAsync("/api/v1/users/me")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await browser.IsActiveAsync(access), Is.False, "not introspectable here: this server checks its own audience");
    }
}
