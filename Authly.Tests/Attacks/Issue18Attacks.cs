using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Authly.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static Authly.Tests.Infrastructure.Issue18Clients;

namespace Authly.Tests.Attacks;

/// <summary>Issue 18: abuses of dynamic client registration (RFC 7591/7592) and token exchange (RFC 8693). Each must fail for the attacker.</summary>
[TestFixture, Category("Attacks")]
public sealed class Issue18Attacks : AppFixture
{
    private readonly ShiftedClock _clock = new(TimeSpan.Zero);
    protected override TimeProvider? Clock => _clock;

    [TestCase("admin:clients:write", TestName = "Register_AskingForAdminScope_IsRefused")]
    [TestCase("introspect", TestName = "Register_AskingForIntrospectScope_IsRefused")]
    [TestCase("account:write", TestName = "Register_AskingForAccountScope_IsRefused")]
    [TestCase("vault:read", TestName = "Register_AskingForVaultScope_IsRefused")]
    [Description("Issue 18: a self-registered client never gets a privileged or first-party scope; nothing is created")]
    public async Task Register_AskingForPrivilegedScope_IsRefused(string scope)
    {
        var token = await InitialAccessTokenAsync(_app);
        var before = await _app.StateSnapshotAsync();
        var response = await RegisterRawAsync(_app, new { client_name = "evil", grant_types = new[] { "client_credentials" }, response_types = Array.Empty<string>(), scope = "read " + scope }, token);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_client_metadata");
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
    }

    [TestCase("https://*.evil.example/cb", TestName = "Register_ClientCredentialsWithWildcardHostRedirect_IsRefused")]
    [TestCase("https://app.example/*", TestName = "Register_ClientCredentialsWithWildcardPathRedirect_IsRefused")]
    [TestCase("http://127.0.0.1/cb", TestName = "Register_ClientCredentialsWithLoopbackRedirect_IsRefused")]
    [TestCase("https://localhost/cb", TestName = "Register_ClientCredentialsWithLocalhostRedirect_IsRefused")]
    [TestCase("https://10.0.0.1/cb", TestName = "Register_ClientCredentialsWithIpRedirect_IsRefused")]
    [Description("Issue 18: client_credentials (a confidential client) with a wildcard or loopback redirect is refused")]
    public async Task Register_ClientCredentialsWithTrickRedirect_IsRefused(string uri)
    {
        var token = await InitialAccessTokenAsync(_app);
        var before = await _app.StateSnapshotAsync();
        var response = await RegisterRawAsync(_app, new
        {
            client_name = "evil", grant_types = new[] { "client_credentials", "authorization_code" }, redirect_uris = new[] { uri },
        }, token);
        await OAuthAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "invalid_redirect_uri");
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
    }

    [Test, Description("RFC 7592 §2: a registration access token is bound to its client; on another client's URI it reads, changes and deletes nothing")]
    public async Task RegistrationToken_UsedForAnotherClient_IsRefused()
    {
        var victim = await RegisterAsync(_app);
        var attacker = await RegisterAsync(_app);
        var (victimId, attackerToken) = (AuthlyApp.Str(victim, "client_id"), AuthlyApp.Str(attacker, "registration_access_token"));
        var http = _app.CreateClient();
        var before = await _app.StateSnapshotAsync();
        await OAuthAssert.ErrorAsync(await http.SendAsync(Management(HttpMethod.Get, victimId, attackerToken)), HttpStatusCode.Unauthorized, "invalid_token");
        await OAuthAssert.ErrorAsync(await http.SendAsync(Management(HttpMethod.Put, victimId, attackerToken, new { client_id = victimId, client_name = "pwned" })),
            HttpStatusCode.Unauthorized, "invalid_token");
        await OAuthAssert.ErrorAsync(await http.SendAsync(Management(HttpMethod.Delete, victimId, attackerToken)), HttpStatusCode.Unauthorized, "invalid_token");
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
    }

    [Test, Description("RFC 7591 §3: an initial access token with one use registers one client; its replay is 401 and creates nothing")]
    public async Task InitialAccessToken_Replayed_IsRefused()
    {
        var token = await InitialAccessTokenAsync(_app, maxUses: 1);
        await RegisterAsync(_app, bearer: token);
        var before = await _app.StateSnapshotAsync();
        var replay = await RegisterRawAsync(_app, new { client_name = "again", grant_types = new[] { "client_credentials" }, response_types = Array.Empty<string>() }, token);
        await OAuthAssert.ErrorAsync(replay, HttpStatusCode.Unauthorized, "invalid_token");
        Assert.That(await _app.StateSnapshotAsync(), Is.EqualTo(before));
    }

    [Test, Description("RFC 7591 §3: a one-use initial access token raced by many requests registers exactly one client")]
    public async Task InitialAccessToken_RacedForItsLastUse_RegistersOneClient()
    {
        var token = await InitialAccessTokenAsync(_app, maxUses: 1);
        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => RegisterRawAsync(_app,
            new { client_name = "race", grant_types = new[] { "client_credentials" }, response_types = Array.Empty<string>() }, token)));
        Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Created), Is.EqualTo(1));
        Assert.That(responses.Where(r => r.StatusCode != HttpStatusCode.Created).Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test, Description("RFC 7591 §3: an expired or revoked initial access token is refused")]
    public async Task InitialAccessToken_ExpiredOrRevoked_IsRefused()
    {
        var metadata = new { client_name = "late", grant_types = new[] { "client_credentials" }, response_types = Array.Empty<string>() };
        var expiring = await InitialAccessTokenAsync(_app, expiresIn: 60);
        _clock.Advance(TimeSpan.FromSeconds(61));
        await OAuthAssert.ErrorAsync(await RegisterRawAsync(_app, metadata, expiring), HttpStatusCode.Unauthorized, "invalid_token");

        var admin = await _app.AdminClientAsync("admin:clients:write admin:clients:read");
        var created = await AuthlyApp.JsonAsync(await admin.PostAsJsonAsync("/admin/registration-tokens", new { description = "to revoke" }));
        Assert.That((await admin.DeleteAsync($"/admin/registration-tokens/{AuthlyApp.Str(created, "id")}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await OAuthAssert.ErrorAsync(await RegisterRawAsync(_app, metadata, AuthlyApp.Str(created, "initial_access_token")), HttpStatusCode.Unauthorized, "invalid_token");
    }

    [Test, Description("RFC 8693 §2.1: an exchange asking for more scope than subject ∩ policy is invalid_scope")]
    public async Task Exchange_WideningScope_IsRefused()
    {
        var user = await _app.CreateUserAsync();
        var service = await ExchangeClientAsync(_app, scope: "read write");
        var subject = await UserTokenAsync(_app, user, "read");
        await OAuthAssert.ErrorAsync(await ExchangeAsync(_app, service, ("subject_token", subject), ("subject_token_type", AccessTokenType), ("scope", "read write")),
            HttpStatusCode.BadRequest, "invalid_scope");
        var narrowPolicy = await ExchangeClientAsync(_app, scope: "read");
        var wide = await UserTokenAsync(_app, user, "read write");
        await OAuthAssert.ErrorAsync(await ExchangeAsync(_app, narrowPolicy, ("subject_token", wide), ("subject_token_type", AccessTokenType), ("scope", "write")),
            HttpStatusCode.BadRequest, "invalid_scope");
        // An admin's token exchanged by a client never yields an admin scope.
        var adminToken = await _app.AdminTokenAsync("admin:users:read");
        await OAuthAssert.ErrorAsync(await ExchangeAsync(_app, service, ("subject_token", adminToken), ("subject_token_type", AccessTokenType), ("scope", "admin:users:read")),
            HttpStatusCode.BadRequest, "invalid_scope");
    }

    [TestCase("audience", "https://not-in-policy.example", TestName = "Exchange_AudienceOutsidePolicy_IsInvalidTarget")]
    [TestCase("resource", "https://not-in-policy.example/api", TestName = "Exchange_ResourceOutsidePolicy_IsInvalidTarget")]
    [TestCase("resource", "not a uri", TestName = "Exchange_MalformedResource_IsInvalidTarget")]
    [Description("RFC 8693 §2.2.2: an audience or resource outside the client's policy is invalid_target")]
    public async Task Exchange_WideningAudience_IsRefused(string parameter, string value)
    {
        var user = await _app.CreateUserAsync();
        var service = await ExchangeClientAsync(_app, audiences: ["https://orders.example"]);
        await OAuthAssert.ErrorAsync(await ExchangeAsync(_app, service, ("subject_token", await UserTokenAsync(_app, user)),
            ("subject_token_type", AccessTokenType), (parameter, value)), HttpStatusCode.BadRequest, "invalid_target");
    }

    [Test, Description("RFC 8693 §2.2.2: a revoked or expired subject token is refused")]
    public async Task Exchange_RevokedOrExpiredSubjectToken_IsRefused()
    {
        var user = await _app.CreateUserAsync();
        var service = await ExchangeClientAsync(_app);
        var revoked = await UserTokenAsync(_app, user);
        var (scriptId, scriptSecret) = await _app.ScriptClientAsync();
        Assert.That((await _app.PostFormAsync(RevokePath, AuthlyApp.Basic(scriptId, scriptSecret), ("token", revoked))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await OAuthAssert.ErrorAsync(await ExchangeAsync(_app, service, ("subject_token", revoked), ("subject_token_type", AccessTokenType)),
            HttpStatusCode.BadRequest, "invalid_request");

        var expiring = await UserTokenAsync(_app, user);
        _clock.Advance(TimeSpan.FromMinutes(61));
        await OAuthAssert.ErrorAsync(await ExchangeAsync(_app, service, ("subject_token", expiring), ("subject_token_type", AccessTokenType)),
            HttpStatusCode.BadRequest, "invalid_request");
    }

    [Test, Description("RFC 8693 §4.1: the act chain comes only from tokens Authly verified; a client cannot forge or borrow one")]
    public async Task Exchange_ForgedActorChain_IsRefused()
    {
        var user = await _app.CreateUserAsync();
        var service = await ExchangeClientAsync(_app);
        var other = await ExchangeClientAsync(_app);
        var subject = await UserTokenAsync(_app, user);

        // 1. A subject token with a made-up act, signed with the attacker's own key.
        using var rsa = RSA.Create(2048);
        var forged = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = AuthlyApp.Issuer, Audience = AuthlyApp.Issuer, TokenType = "at+jwt", Expires = _clock.GetUtcNow().AddMinutes(5).UtcDateTime,
            Claims = new Dictionary<string, object>
            {
                ["sub"] = user.Id.ToString(), ["client_id"] = service.Id, ["scope"] = "read", ["jti"] = "forged", ["username"] = user.Username,
                ["act"] = new Dictionary<string, object> { ["sub"] = "trusted-gateway" },
            },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = "attacker" }, SecurityAlgorithms.RsaSha256),
        });
        await OAuthAssert.ErrorAsync(await ExchangeAsync(_app, service, ("subject_token", forged), ("subject_token_type", JwtType)),
            HttpStatusCode.BadRequest, "invalid_request");

        // 2. Another client's token presented as the actor: the caller can only name itself.
        await OAuthAssert.ErrorAsync(await ExchangeAsync(_app, service, ("subject_token", subject), ("subject_token_type", AccessTokenType),
            ("actor_token", await ClientTokenAsync(_app, other)), ("actor_token_type", AccessTokenType)), HttpStatusCode.BadRequest, "invalid_request");

        // 3. An act parameter in the request is not a thing: the token has no act.
        var body = await OAuthAssert.TokenAsync(await ExchangeAsync(_app, service, ("subject_token", subject), ("subject_token_type", AccessTokenType),
            ("act", "{\"sub\":\"trusted-gateway\"}")));
        Assert.That(Payload(AuthlyApp.Str(body, "access_token")).ContainsKey("act"), Is.False);
    }
}

/// <summary>Issue 18: registration is rate limited per address (its own server: the counter is per caller IP).</summary>
[TestFixture, Category("Attacks")]
public sealed class RegistrationBurstAttacks : AppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["AUTHLY_REGISTRATION"] = "open", ["RATE_LIMIT_MAX_REQUESTS"] = "3", ["RATE_LIMIT_WINDOW_SECONDS"] = "60",
    };

    [Test, Description("Issue 18: a burst of registrations hits the rate limit: 429 with Retry-After, and no client beyond the limit")]
    public async Task RegistrationBurst_HitsTheRateLimit()
    {
        var metadata = new { client_name = "burst", grant_types = new[] { "client_credentials" }, response_types = Array.Empty<string>() };
        for (var i = 0; i < 3; i++)
            Assert.That((await RegisterRawAsync(_app, metadata, null)).StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var limited = await RegisterRawAsync(_app, metadata, null);
        await OAuthAssert.ErrorAsync(limited, HttpStatusCode.TooManyRequests, "invalid_request");
        Assert.That(limited.Headers.RetryAfter?.Delta, Is.Not.Null);
        Assert.That(await _app.SqlScalarAsync<long>("SELECT count(*) FROM client_registrations"), Is.EqualTo(3));
    }
}
