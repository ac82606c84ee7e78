using System.Net;
using System.Net.Http.Json;
using Authly.Oidc;
using Authly.Tests.Infrastructure;
using Authly.Users;
using Microsoft.Extensions.DependencyInjection;
using static Authly.Tests.Infrastructure.Issue18Clients;

namespace Authly.Tests.Rfc8693;

/// <summary>RFC 8693 token exchange: impersonation, delegation with act chains, per-client policy, subject token types.</summary>
[TestFixture, Category("RFC8693")]
public sealed class TokenExchangeTests : AppFixture
{
    [Test, Description("RFC 8693 §2.2.1: impersonation (no actor) gives an access token for the subject, issued_token_type, no refresh token, no act")]
    public async Task Exchange_AccessTokenWithoutActor_IssuesTokenForTheSubject()
    {
        var user = await _app.CreateUserAsync();
        var service = await ExchangeClientAsync(_app);
        var subject = await UserTokenAsync(_app, user);
        var body = await OAuthAssert.TokenAsync(await ExchangeAsync(_app, service,
            ("subject_token", subject), ("subject_token_type", AccessTokenType), ("scope", "read")));
        var claims = Payload(AuthlyApp.Str(body, "access_token"));
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(body, "issued_token_type"), Is.EqualTo(AccessTokenType));
            Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"));
            Assert.That(body.ContainsKey("refresh_token"), Is.False);
            Assert.That(claims["sub"]!.GetValue<string>(), Is.EqualTo(user.Id.ToString()));
            Assert.That(claims["client_id"]!.GetValue<string>(), Is.EqualTo(service.Id));
            Assert.That(claims["username"]!.GetValue<string>(), Is.EqualTo(user.Username));
            Assert.That(claims.ContainsKey("act"), Is.False);
            Assert.That(claims["exp"]!.GetValue<long>(), Is.LessThanOrEqualTo(Payload(subject)["exp"]!.GetValue<long>()), "never outlives the subject token");
        });
    }

    [Test, Description("RFC 8693 §4.1: delegation puts the actor in act; a second exchange nests the first actor inside the new one")]
    public async Task Exchange_WithActorTokens_BuildsNestedActChain()
    {
        var user = await _app.CreateUserAsync();
        var first = await ExchangeClientAsync(_app);
        var second = await ExchangeClientAsync(_app);
        var subject = await UserTokenAsync(_app, user);

        var once = await OAuthAssert.TokenAsync(await ExchangeAsync(_app, first, ("subject_token", subject), ("subject_token_type", AccessTokenType),
            ("actor_token", await ClientTokenAsync(_app, first)), ("actor_token_type", AccessTokenType)));
        var twice = await OAuthAssert.TokenAsync(await ExchangeAsync(_app, second, ("subject_token", AuthlyApp.Str(once, "access_token")),
            ("subject_token_type", AccessTokenType), ("actor_token", await ClientTokenAsync(_app, second)), ("actor_token_type", AccessTokenType)));

        var act = Payload(AuthlyApp.Str(twice, "access_token"))["act"]!.AsObject();
        Assert.Multiple(() =>
        {
            Assert.That(Payload(AuthlyApp.Str(twice, "access_token"))["sub"]!.GetValue<string>(), Is.EqualTo(user.Id.ToString()));
            Assert.That(act["sub"]!.GetValue<string>(), Is.EqualTo(second.Id), "the current actor is outermost");
            Assert.That(act["act"]!["sub"]!.GetValue<string>(), Is.EqualTo(first.Id), "the prior actor is nested");
            Assert.That(act["act"]!.AsObject().ContainsKey("act"), Is.False);
        });
        // The exchanged token is a token of this server: introspection knows it.
        var introspected = await AuthlyApp.JsonAsync(await _app.PostFormAsync(IntrospectPath, AuthlyApp.Basic(second.Id, second.Secret),
            ("token", AuthlyApp.Str(twice, "access_token"))));
        Assert.That(introspected["active"]!.GetValue<bool>(), Is.True);
    }

    [Test, Description("RFC 8693 §2.1 audience: an audience in the client's policy becomes the token's aud")]
    public async Task Exchange_WithAudienceInPolicy_SetsAud()
    {
        var user = await _app.CreateUserAsync();
        var service = await ExchangeClientAsync(_app, audiences: ["https://orders.example"]);
        var body = await OAuthAssert.TokenAsync(await ExchangeAsync(_app, service, ("subject_token", await UserTokenAsync(_app, user)),
            ("subject_token_type", AccessTokenType), ("audience", "https://orders.example")));
        Assert.That(Payload(AuthlyApp.Str(body, "access_token"))["aud"]!.GetValue<string>(), Is.EqualTo("https://orders.example"));
    }

    [Test, Description("RFC 8693 §2.1: the scope is never wider than subject ∩ policy; omitted, it is all of that")]
    public async Task Exchange_WithoutScope_GetsSubjectScopeIntersectedWithPolicy()
    {
        var user = await _app.CreateUserAsync();
        var service = await ExchangeClientAsync(_app, scope: "read");
        var body = await OAuthAssert.TokenAsync(await ExchangeAsync(_app, service, ("subject_token", await UserTokenAsync(_app, user, "read write")),
            ("subject_token_type", AccessTokenType)));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"));
    }

    [Test, Description("RFC 8693 §1.1: a client without an exchange policy may not exchange, even with the grant type registered")]
    public async Task Exchange_ClientWithoutPolicy_ReturnsUnauthorizedClient()
    {
        var user = await _app.CreateUserAsync();
        var (id, secret) = await _app.CreateConfidentialClientAsync("read", [TokenExchange]);
        await OAuthAssert.ErrorAsync(await ExchangeAsync(_app, (id, secret!), ("subject_token", await UserTokenAsync(_app, user)),
            ("subject_token_type", AccessTokenType)), HttpStatusCode.BadRequest, "unauthorized_client");
    }

    [Test, Description("RFC 8693 §1.1: a policy that requires an actor refuses impersonation")]
    public async Task Exchange_WithoutActor_WhenPolicyRequiresOne_ReturnsInvalidRequest()
    {
        var user = await _app.CreateUserAsync();
        var service = await ExchangeClientAsync(_app, requireActor: true);
        await OAuthAssert.ErrorAsync(await ExchangeAsync(_app, service, ("subject_token", await UserTokenAsync(_app, user)),
            ("subject_token_type", AccessTokenType)), HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 8693 §2.1: subject_token and subject_token_type are required; an unknown type is invalid_request")]
    public async Task Exchange_MissingOrUnknownSubjectTokenType_ReturnsInvalidRequest()
    {
        var service = await ExchangeClientAsync(_app);
        await OAuthAssert.ErrorAsync(await ExchangeAsync(_app, service, ("subject_token", "x")), HttpStatusCode.BadRequest, "invalid_request");
        await OAuthAssert.ErrorAsync(await ExchangeAsync(_app, service, ("subject_token", "x"), ("subject_token_type", "urn:example:saml")),
            HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 8693 §3: a refresh token of the exchanging client is a subject; another client's is not (RFC 6749 §6 binding)")]
    public async Task Exchange_RefreshToken_OnlyOfTheExchangingClient()
    {
        var user = await _app.CreateUserAsync();
        var service = await ExchangeClientAsync(_app);
        var admin = await _app.AdminClientAsync("admin:clients:write");
        // The service may also use the password grant, to hold a refresh token of its own.
        var update = await admin.PutAsJsonAsync($"{AdminClientsPath}/{service.Id}", new { grant_types = new[] { TokenExchange, "client_credentials", "password", "refresh_token" } });
        Assert.That((int)update.StatusCode, Is.EqualTo(200));
        var own = await OAuthAssert.TokenAsync(await _app.PostFormAsync(TokenPath, AuthlyApp.Basic(service.Id, service.Secret),
            ("grant_type", "password"), ("username", user.Username), ("password", user.Password), ("scope", "read")));
        var body = await OAuthAssert.TokenAsync(await ExchangeAsync(_app, service, ("subject_token", AuthlyApp.Str(own, "refresh_token")),
            ("subject_token_type", RefreshTokenType)));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"));

        var others = await _app.PasswordTokenAsync(user.Username, user.Password, "read");
        await OAuthAssert.ErrorAsync(await ExchangeAsync(_app, service, ("subject_token", AuthlyApp.Str(others, "refresh_token")),
            ("subject_token_type", RefreshTokenType)), HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 8693 §3: an ID token issued to the exchanging client proves the user (scope openid only); one issued to another client does not")]
    public async Task Exchange_IdToken_IssuedToTheClient_GivesOpenIdOnly()
    {
        var user = await _app.CreateUserAsync();
        var service = await ExchangeClientAsync(_app, scope: "openid read");
        var row = await _app.Services.GetRequiredService<UserStore>().FindByIdAsync(user.Id, CancellationToken.None);
        var ids = _app.Services.GetRequiredService<IdTokenIssuer>();
        var mine = await ids.CreateAsync(row!, service.Id, new HashSet<string> { "openid" }, null, DateTime.UtcNow, null, null, CancellationToken.None);
        var body = await OAuthAssert.TokenAsync(await ExchangeAsync(_app, service, ("subject_token", mine), ("subject_token_type", IdTokenType)));
        Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("openid"));

        var notMine = await ids.CreateAsync(row!, "someone-else", new HashSet<string> { "openid" }, null, DateTime.UtcNow, null, null, CancellationToken.None);
        await OAuthAssert.ErrorAsync(await ExchangeAsync(_app, service, ("subject_token", notMine), ("subject_token_type", JwtType)),
            HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 8414 §2 / RFC 8693 §2.1: discovery lists the token exchange grant")]
    public async Task Discovery_ListsTokenExchangeGrant()
    {
        var doc = await AuthlyApp.JsonAsync(await _app.CreateClient().GetAsync("/.well-known/openid-configuration"));
        Assert.That(doc["grant_types_supported"]!.AsArray().Select(g => g!.GetValue<string>()), Does.Contain(TokenExchange));
    }
}
