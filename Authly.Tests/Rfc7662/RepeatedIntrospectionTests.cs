using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;

namespace Authly.Tests.Rfc7662;

/// <summary>
/// Introspection of access tokens, asked more than once: the answer must change the moment the
/// token expires or is revoked, and a token that is not exactly one we signed is never active.
/// </summary>
[TestFixture, Category("RFC7662")]
public sealed class RepeatedIntrospectionTests : AppFixture
{
    // Two-minute tokens: the expiry test then moves the clock less than the five minutes a node
    // keeps its signing keys, so expiry is decided for a token the server has validated before.
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["ACCESS_TOKEN_EXPIRE_MINUTES"] = "2" };
    protected override TimeProvider Clock => _clock;

    private readonly TestClock _clock = new(DateTimeOffset.UtcNow);

    [Test, Description("RFC 7662 §2.2")]
    public async Task Introspect_SameValidTokenTwice_ReturnsActiveWithTheSameClaims()
    {
        var (token, _, _) = await ClientTokenAsync();
        var first = await IntrospectAsync(token);
        var second = await IntrospectAsync(token);
        Assert.Multiple(() =>
        {
            Assert.That(first["active"]!.GetValue<bool>(), Is.True, first.ToJsonString());
            Assert.That(second.ToJsonString(), Is.EqualTo(first.ToJsonString()));
            Assert.That(AuthlyApp.Str(second, "scope"), Is.EqualTo("read"));
        });
    }

    [Test, Description("RFC 7662 §2.2, RFC 7009 §2.1: a revoked token is inactive at once")]
    public async Task Introspect_TokenRevokedAfterItWasIntrospected_ReturnsInactive()
    {
        var (token, id, secret) = await ClientTokenAsync();
        Assert.That((await IntrospectAsync(token))["active"]!.GetValue<bool>(), Is.True);

        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = AuthlyApp.Basic(id, secret);
        var revoke = await http.PostAsync("/api/v1/oauth/revoke", AuthlyApp.Form(("token", token)));
        Assert.That(revoke.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        Assert.That((await IntrospectAsync(token)).ToJsonString(), Is.EqualTo("""{"active":false}"""));
    }

    [Test, Description("RFC 7662 §2.2; RFC 7519 §4.1.4: not accepted on or after exp")]
    public async Task Introspect_TokenReachingItsExpiryAfterItWasIntrospected_ReturnsInactiveFromThatSecond()
    {
        var (token, _, _) = await ClientTokenAsync();
        var exp = DateTimeOffset.FromUnixTimeSeconds((await IntrospectAsync(token))["exp"]!.GetValue<long>());

        _clock.Advance(exp - _clock.GetUtcNow() - TimeSpan.FromSeconds(1));
        Assert.That((await IntrospectAsync(token))["active"]!.GetValue<bool>(), Is.True, "one second before exp");
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That((await IntrospectAsync(token)).ToJsonString(), Is.EqualTo("""{"active":false}"""), "at exp");
    }

    [Test, Description("RFC 7662 §2.2; RFC 7515 §5.2: the signature must verify with one of our keys")]
    public async Task Introspect_TokenOfKnownClaimsSignedWithAnotherKey_ReturnsInactive()
    {
        var (token, _, _) = await ClientTokenAsync();
        Assert.That((await IntrospectAsync(token))["active"]!.GetValue<bool>(), Is.True);

        var signingInput = token[..token.LastIndexOf('.')];
        using var foreign = RSA.Create(2048);
        var forged = signingInput + "." + Base64Url.EncodeToString(
            foreign.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

        Assert.That((await IntrospectAsync(forged)).ToJsonString(), Is.EqualTo("""{"active":false}"""));
    }

    [Test, Description("RFC 7662 §2.2; RFC 7515 §5.2: a changed payload no longer matches the signature")]
    public async Task Introspect_IntrospectedTokenWithWidenedScope_ReturnsInactive()
    {
        var (token, _, _) = await ClientTokenAsync();
        Assert.That((await IntrospectAsync(token))["active"]!.GetValue<bool>(), Is.True);

        var parts = token.Split('.');
        var payload = JsonNode.Parse(Base64Url.DecodeFromChars(parts[1]))!.AsObject();
        payload["scope"] = "read write";
        var tampered = $"{parts[0]}.{Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.ToJsonString()))}.{parts[2]}";

        Assert.That((await IntrospectAsync(tampered)).ToJsonString(), Is.EqualTo("""{"active":false}"""));
    }

    private async Task<(string Token, string ClientId, string Secret)> ClientTokenAsync()
    {
        var (id, secret) = await _app.CreateConfidentialClientAsync(scope: "read write");
        var http = _app.CreateClient();
        http.DefaultRequestHeaders.Authorization = AuthlyApp.Basic(id, secret!);
        var response = await http.PostAsync("/api/v1/oauth/token", AuthlyApp.Form(("grant_type", "client_credentials"), ("scope", "read")));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        return (AuthlyApp.Str(body, "access_token"), id, secret!);
    }

    private async Task<JsonObject> IntrospectAsync(string token)
    {
        var response = await _app.PostFormAsync("/api/v1/oauth/introspect", ("token", token));
        var body = await AuthlyApp.JsonAsync(response);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        return body;
    }
}
