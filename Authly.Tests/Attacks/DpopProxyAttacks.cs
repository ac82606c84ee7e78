using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Authly.Proxy;
using Authly.Tests.Infrastructure;
using Authly.Tests.Proxies;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 17, RFC 9449 §7.1 at the database proxies (the Redis one over HTTP): a stolen DPoP-bound token is refused as
/// Bearer, with a replayed proof, and with a proof by another key; its holder gets through with a fresh proof.
/// </summary>
[TestFixture, Category("Attacks"), Category("RFC9449")]
public sealed class DpopProxyAttacks
{
    private ProxyFixture _f = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _f = await ProxyFixture.StartAsync(postgres: false);

    [OneTimeTearDown]
    public async Task StopAsync() => await _f.DisposeAsync();

    private async Task<string> BoundTokenAsync(DpopKey key)
    {
        var user = await _f.Authly.CreateUserAsync();
        var (id, secret) = await _f.Authly.ScriptClientAsync();
        var request = new HttpRequestMessage(HttpMethod.Post, TokenPath)
        {
            Content = AuthlyApp.Form(("grant_type", "password"), ("username", user.Username), ("password", user.Password), ("scope", "cache:read cache:write")),
        };
        request.Headers.Authorization = AuthlyApp.Basic(id, secret);
        request.Headers.Add("DPoP", key.Proof("POST", AuthlyApp.Issuer + TokenPath));
        var body = await AuthlyApp.JsonAsync(await _f.Authly.CreateClient().SendAsync(request));
        Assert.That(body["token_type"]?.GetValue<string>(), Is.EqualTo("DPoP"), body.ToJsonString());
        return AuthlyApp.Str(body, "access_token");
    }

    private Task<HttpResponseMessage> CommandAsync(string scheme, string token, string? proof)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _f.Redis!.Url + "/command")
        {
            Content = JsonContent.Create(new JsonObject { ["command"] = "GET", ["args"] = new JsonArray("k") }),
        };
        request.Headers.TryAddWithoutValidation("Authorization", $"{scheme} {token}");
        if (proof is not null) request.Headers.Add("DPoP", proof);
        return _f.SendAsync(request);
    }

    [Test, Description("RFC 9449 §7.1: a bound token as Bearer is refused with a DPoP challenge")]
    public async Task BoundTokenAsBearer_AtProxy_IsRefused()
    {
        using var key = DpopKey.Es256();
        var token = await BoundTokenAsync(key);
        var response = await CommandAsync("Bearer", token, null);
        var body = await ProxyFixture.ExpectAsync(response, 401);
        Assert.That(AuthlyApp.Str(body, "error"), Is.EqualTo(ProxyErrors.DpopBoundToken));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("DPoP ").And.Contain("error=\"invalid_token\""));
    }

    [Test, Description("RFC 9449 §7.1, §11.1: the holder's proof works once; its replay and a thief's own key are refused")]
    public async Task ProofReplayedOrByAnotherKey_AtProxy_IsRefused()
    {
        using var key = DpopKey.Es256();
        using var thief = DpopKey.Es256();
        var token = await BoundTokenAsync(key);
        var url = _f.Redis!.Url + "/command";
        var proof = key.Proof("POST", url, token);
        await ProxyFixture.ExpectAsync(await CommandAsync("DPoP", token, proof), 200);

        var replayed = await CommandAsync("DPoP", token, proof);
        Assert.That(AuthlyApp.Str(await ProxyFixture.ExpectAsync(replayed, 401), "error"), Is.EqualTo("The DPoP proof was already used"));
        Assert.That(replayed.Headers.WwwAuthenticate.ToString(), Does.StartWith("DPoP ").And.Contain("error=\"invalid_dpop_proof\""));
        await ProxyFixture.ExpectAsync(await CommandAsync("DPoP", token, thief.Proof("POST", url, token)), 401);
        await ProxyFixture.ExpectAsync(await CommandAsync("DPoP", token, null), 401);
    }
}
