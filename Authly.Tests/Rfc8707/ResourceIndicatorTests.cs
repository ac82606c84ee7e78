using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Authly.Tests.Rfc8707;

/// <summary>
/// RFC 8707 resource indicators: <c>resource</c> at /authorize (and PAR) and on the token request; registered per client;
/// the access token's aud is the resource(s) asked for; narrowing on the token request (§2.2) and on refresh.
/// </summary>
[TestFixture, Category("RFC8707")]
public sealed class ResourceIndicatorTests : RelyingPartyFixture
{
    internal const string Orders = "https://orders.example/api";
    internal const string Billing = "https://billing.example/";

    protected override async Task<string> RegisterRelyingPartyAsync() => (await _app.CreateClientAsync(new
    {
        client_name = "Resource RP", client_type = "public", redirect_uris = new[] { Redirect }, scope = "openid profile offline_access",
        grant_types = new[] { "authorization_code", "refresh_token" }, resources = new[] { Orders, Billing },
    })).Id;

    internal static async Task<(string Id, string Secret)> ServiceAsync(AuthlyApp app, params string[] resources)
    {
        var (id, secret) = await app.CreateClientAsync(new
        {
            client_name = "resource service", client_type = "confidential", scope = "read", grant_types = new[] { "client_credentials" }, resources,
        });
        return (id, secret!);
    }

    internal static Task<HttpResponseMessage> ClientCredentialsAsync(AuthlyApp app, (string Id, string Secret) client, params string[] resources) =>
        app.PostFormAsync(TokenPath, AuthlyApp.Basic(client.Id, client.Secret),
            [("grant_type", "client_credentials"), .. resources.Select(r => ("resource", r))]);

    /// <summary>The raw aud claim of a JWT: a string or an array.</summary>
    internal static JsonElement Aud(string jwt) =>
        JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(new JsonWebToken(jwt).EncodedPayload)).RootElement.GetProperty("aud").Clone();

    private async Task<string> CodeAsync(BrowserFlow browser, BrowserFlow.Request request, TestUsers.TestUser user, params string[] resources)
    {
        var pushed = await Rfc9126.PushedAuthorizationTests.RequestUriAsync(
            await Rfc9126.PushedAuthorizationTests.PushAsync(_app, request, [.. resources.Select(r => ("resource", r))]));
        return BrowserFlow.Query(await browser.AuthorizeAsync(Rfc9126.PushedAuthorizationTests.PushedRequest(_clientId, Redirect, pushed), user))["code"];
    }

    private Task<HttpResponseMessage> RedeemAsync(BrowserFlow.Request request, string code, params string[] resources) =>
        _app.PostFormAsync(TokenPath, [("grant_type", "authorization_code"), ("client_id", _clientId), ("code", code),
            ("redirect_uri", Redirect), ("code_verifier", request.Verifier), .. resources.Select(r => ("resource", r))]);

    private Task<HttpResponseMessage> RefreshAsync(string refreshToken, params string[] resources) =>
        _app.PostFormAsync(TokenPath, [("grant_type", "refresh_token"), ("client_id", _clientId), ("refresh_token", refreshToken),
            .. resources.Select(r => ("resource", r))]);

    [Test, Description("RFC 8707 §2: one resource on a client_credentials request: aud is that resource, as a string")]
    public async Task Section2_OneResource_AudIsThatResource()
    {
        var service = await ServiceAsync(_app, Orders, Billing);
        var token = AuthlyApp.Str(await OAuthAssert.TokenAsync(await ClientCredentialsAsync(_app, service, Orders)), "access_token");
        var aud = Aud(token);
        Assert.That(aud.ValueKind, Is.EqualTo(JsonValueKind.String));
        Assert.That(aud.GetString(), Is.EqualTo(Orders));
    }

    [Test, Description("RFC 8707 §2: the parameter may be repeated; aud is then an array of the resources")]
    public async Task Section2_RepeatedResource_AudIsArrayOfThem()
    {
        var service = await ServiceAsync(_app, Orders, Billing);
        var token = AuthlyApp.Str(await OAuthAssert.TokenAsync(await ClientCredentialsAsync(_app, service, Orders, Billing)), "access_token");
        var aud = Aud(token);
        Assert.That(aud.ValueKind, Is.EqualTo(JsonValueKind.Array));
        Assert.That(aud.EnumerateArray().Select(a => a.GetString()), Is.EqualTo(new[] { Orders, Billing }));
    }

    [Test, Description("RFC 8707 §2: without resource the token keeps the default audience and this server's own APIs accept it")]
    public async Task Section2_NoResource_DefaultAudienceAcceptedByIntrospection()
    {
        var service = await ServiceAsync(_app, Orders);
        var token = AuthlyApp.Str(await OAuthAssert.TokenAsync(await ClientCredentialsAsync(_app, service)), "access_token");
        var introspected = await AuthlyApp.JsonAsync(await _app.PostFormAsync(IntrospectPath, ("token", token)));
        Assert.That(introspected["active"]!.GetValue<bool>(), Is.True);
        Assert.That(Aud(token).GetString(), Is.EqualTo(AuthlyApp.Str(introspected, "aud")));
    }

    [Test, Description("RFC 8707 §2: a resource that is not registered for the client is invalid_target")]
    public async Task Section2_UnregisteredResource_IsInvalidTarget()
    {
        var service = await ServiceAsync(_app, Orders);
        await OAuthAssert.ErrorAsync(await ClientCredentialsAsync(_app, service, Billing), HttpStatusCode.BadRequest, "invalid_target");
    }

    [Test, Description("RFC 8707 §2: a grant that does not honour resource (password) refuses it rather than ignore it")]
    public async Task Section2_ResourceOnPasswordGrant_IsInvalidTarget() =>
        await OAuthAssert.ErrorAsync(await _app.PostFormAsync(TokenPath, ("grant_type", "password"), ("username", AuthlyApp.AdminUsername),
            ("password", AuthlyApp.AdminPassword), ("resource", Orders)), HttpStatusCode.BadRequest, "invalid_target");

    [Test, Description("RFC 8707 §2.1/§2.2: resources pushed (repeated) with the authorization request are remembered with the code; "
        + "the token request narrows them; refresh narrows to the original grant and without resource gets all of it")]
    public async Task Section2_2_CodeRemembersResources_TokenRequestAndRefreshNarrow()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect, Scope: "openid offline_access");
        var code = await CodeAsync(browser, request, user, Orders, Billing);

        var tokens = await OAuthAssert.TokenAsync(await RedeemAsync(request, code, Orders));
        Assert.That(Aud(AuthlyApp.Str(tokens, "access_token")).GetString(), Is.EqualTo(Orders));
        var refreshed = await OAuthAssert.TokenAsync(await RefreshAsync(AuthlyApp.Str(tokens, "refresh_token"), Billing));
        Assert.That(Aud(AuthlyApp.Str(refreshed, "access_token")).GetString(), Is.EqualTo(Billing), "narrowed to another resource of the grant");
        var all = await OAuthAssert.TokenAsync(await RefreshAsync(AuthlyApp.Str(refreshed, "refresh_token")));
        Assert.That(Aud(AuthlyApp.Str(all, "access_token")).EnumerateArray().Select(a => a.GetString()), Is.EqualTo(new[] { Orders, Billing }));
    }

    [Test, Description("RFC 8707 §2.1: a resource at /authorize that is not registered is invalid_target, sent to the redirect URI")]
    public async Task Section2_1_AuthorizeUnregisteredResource_RedirectsInvalidTarget()
    {
        var user = await _app.RegisterUserAsync();
        using var browser = new BrowserFlow(_app);
        var request = new BrowserFlow.Request(_clientId, Redirect, Scope: "openid") { Extra = new Dictionary<string, string?> { ["resource"] = "https://other.example/" } };
        var q = BrowserFlow.Query(await browser.AuthorizeAsync(request, user));
        Assert.That(q.GetValueOrDefault("error"), Is.EqualTo("invalid_target"));
        Assert.That(q.ContainsKey("code"), Is.False);
    }

    [Test, Description("RFC 8707 §2.1 / RFC 9126 §2.3: a pushed request with an unregistered resource is refused at the PAR endpoint")]
    public async Task Section2_1_PushedUnregisteredResource_IsInvalidTarget()
    {
        var before = await _app.StateSnapshotAsync();
        await OAuthAssert.ErrorAsync(await Rfc9126.PushedAuthorizationTests.PushAsync(_app, new BrowserFlow.Request(_clientId, Redirect, Scope: "openid"),
            ("resource", Orders), ("resource", "https://other.example/")), HttpStatusCode.BadRequest, "invalid_target");
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
    }

    [Test, Description("RFC 8707 §2: a client's resources are set, shown and cleared through the admin API; a bad one is a validation error")]
    public async Task Section2_AdminApi_RegistersResources()
    {
        var admin = await _app.AdminClientAsync("admin:clients:write admin:clients:read");
        var (id, _) = await ServiceAsync(_app, Orders);
        var shown = await AuthlyApp.JsonAsync(await admin.GetAsync($"{AdminClientsPath}/{id}"));
        Assert.That(shown["resources"]!.AsArray().Select(r => r!.GetValue<string>()), Is.EqualTo(new[] { Orders }));

        var bad = await admin.PutAsJsonAsync($"{AdminClientsPath}/{id}", new { resources = new[] { "https://orders.example/#frag" } });
        Assert.That(bad.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await AuthlyApp.JsonAsync(bad))["field"]?.GetValue<string>(), Is.EqualTo("resources"));

        var cleared = await admin.PutAsJsonAsync($"{AdminClientsPath}/{id}", new { resources = Array.Empty<string>() });
        Assert.That(cleared.StatusCode, Is.EqualTo(HttpStatusCode.OK), await cleared.Content.ReadAsStringAsync());
        Assert.That((await AuthlyApp.JsonAsync(cleared))["resources"]!.AsArray(), Is.Empty);
    }
}
