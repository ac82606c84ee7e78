using System.Net;
using System.Text;
using Authly.Clients;
using Authly.Configuration;
using Authly.Tests.Infrastructure;
using Authly.Tests.Rfc7523;
using Microsoft.Extensions.Logging.Abstractions;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 17: what an attacker does with private_key_jwt, each of which must end in invalid_client: a captured
/// assertion replayed, one made for another server, expired or long-lived, unsigned, HMAC-signed with the public key
/// as the secret (algorithm confusion), signed by another client's key, and a jwks_uri that makes the server fetch
/// keys over plain http in production.
/// </summary>
[TestFixture, Category("Attacks")]
public sealed class ClientAssertionAttacks : AppFixture
{
    private const string TokenEndpoint = AuthlyApp.Issuer + TokenPath;
    private ClientKeyPair _key = null!;
    private string _clientId = null!;

    [OneTimeSetUp]
    public async Task CreateClientAsync()
    {
        _key = ClientKeyPair.Es256();
        _clientId = await PrivateKeyJwtTests.CreateKeyClientAsync(_app, ClientKeyPair.Jwks(_key));
    }

    [OneTimeTearDown]
    public void DisposeKey() => _key?.Dispose();

    private Task<HttpResponseMessage> TokenAsync(string assertion) =>
        _app.PostFormAsync(TokenPath, [("grant_type", "client_credentials"), .. ClientKeyPair.Fields(assertion)]);

    [Test, Description("RFC 7523 §3 item 7: a captured assertion replayed (here, right after its one use) is refused")]
    public async Task Assertion_Replayed_IsInvalidClient()
    {
        var assertion = _key.Assertion(_clientId, TokenEndpoint);
        await OAuthAssert.TokenAsync(await TokenAsync(assertion));
        await OAuthAssert.InvalidClientAsync(await TokenAsync(assertion));
    }

    [Test, Description("RFC 7523 §3 item 7: the jti is single use across nodes: a second node sharing the database refuses the replay")]
    public async Task Assertion_ReplayedAtAnotherNode_IsInvalidClient()
    {
        var assertion = _key.Assertion(_clientId, TokenEndpoint);
        await OAuthAssert.TokenAsync(await TokenAsync(assertion));
        using var peer = _app.StartPeer();
        await OAuthAssert.InvalidClientAsync(await peer.PostFormAsync(TokenPath, [("grant_type", "client_credentials"), .. ClientKeyPair.Fields(assertion)]));
    }

    [TestCase("https://other-server.example"), TestCase("http://localhost/api/v1/oauth/introspect-not")]
    [Description("RFC 7523 §3 item 3: an assertion made for another audience (another server's token endpoint) is refused")]
    public async Task Assertion_WithWrongAudience_IsInvalidClient(string audience) =>
        await OAuthAssert.InvalidClientAsync(await TokenAsync(_key.Assertion(_clientId, audience)));

    [Test, Description("RFC 7523 §3 item 4: an expired assertion is refused")]
    public async Task Assertion_Expired_IsInvalidClient() =>
        await OAuthAssert.InvalidClientAsync(await TokenAsync(_key.Assertion(_clientId, TokenEndpoint, expiresIn: TimeSpan.FromSeconds(-30))));

    [Test, Description("RFC 7523 §3 item 4: exp is required; an assertion without one would never expire")]
    public async Task Assertion_WithoutExp_IsInvalidClient() =>
        await OAuthAssert.InvalidClientAsync(await TokenAsync(_key.Assertion(_clientId, TokenEndpoint, withExp: false)));

    [Test, Description("Issue 17: exp must be short: an assertion valid for a day (a credential in disguise) is refused")]
    public async Task Assertion_ValidForADay_IsInvalidClient() =>
        await OAuthAssert.InvalidClientAsync(await TokenAsync(_key.Assertion(_clientId, TokenEndpoint, expiresIn: TimeSpan.FromDays(1))));

    [Test, Description("RFC 7523 §3 item 9 / RFC 8725 §3.1: an unsigned assertion (alg none) is refused")]
    public async Task Assertion_AlgNone_IsInvalidClient() =>
        await OAuthAssert.InvalidClientAsync(await TokenAsync(ClientKeyPair.Unsigned(_clientId, TokenEndpoint)));

    [Test, Description("RFC 8725 §2.1/§3.1: HS256 keyed with the client's public key (which anyone can read) is refused")]
    public async Task Assertion_Hs256WithPublicKeyAsSecret_IsInvalidClient() =>
        await OAuthAssert.InvalidClientAsync(await TokenAsync(_key.HmacWithPublicKeyAsSecret(_clientId, TokenEndpoint)));

    [Test, Description("RFC 7523 §3 items 1-2: an assertion signed by another client's key (with that key's kid) does not authenticate this client")]
    public async Task Assertion_SignedWithKidOfAnotherClient_IsInvalidClient()
    {
        using var otherKey = ClientKeyPair.Es256();
        _ = await PrivateKeyJwtTests.CreateKeyClientAsync(_app, ClientKeyPair.Jwks(otherKey));
        await OAuthAssert.InvalidClientAsync(await TokenAsync(otherKey.Assertion(_clientId, TokenEndpoint)));
    }

    [Test, Description("RFC 7523 §3 items 1-2: iss and sub must both be the client: a sub naming another client is refused")]
    public async Task Assertion_WithSubOfAnotherClient_IsInvalidClient()
    {
        using var otherKey = ClientKeyPair.Es256();
        var other = await PrivateKeyJwtTests.CreateKeyClientAsync(_app, ClientKeyPair.Jwks(otherKey));
        // Signed by this client's key, iss this client, sub the other: whichever the server reads, one check fails.
        await OAuthAssert.InvalidClientAsync(await TokenAsync(_key.Assertion(_clientId, TokenEndpoint, sub: other)));
    }

    [Test, Description("Issue 17: a jwks_uri over plain http is refused at registration in production mode (SSRF and key substitution)")]
    public void JwksUri_PlainHttpInProduction_IsRefusedAtRegistration()
    {
        var production = new AuthlyOptions { DatabaseUrl = "", Mode = AuthlyMode.Production };
        Assert.Multiple(() =>
        {
            Assert.That(ClientKeyRules.JwksUriProblem("http://169.254.169.254/latest/meta-data", production), Does.Contain("https"));
            Assert.That(ClientKeyRules.JwksUriProblem("https://user:pw@rp.example/jwks", production), Is.Not.Null);
            Assert.That(ClientKeyRules.JwksUriProblem("https://rp.example/jwks", production), Is.Null);
        });
    }

    [Test, Description("Issue 17: a plain-http jwks_uri stored before (or written around the API) is never fetched by a production server")]
    public async Task JwksUri_PlainHttpInProduction_IsNeverFetched()
    {
        using var listener = new System.Net.HttpListener();
        var free = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        free.Start();
        var port = ((IPEndPoint)free.LocalEndpoint).Port;
        free.Stop();
        var prefix = $"http://127.0.0.1:{port}/";
        listener.Prefixes.Add(prefix);
        listener.Start();
        var requests = 0;
        var serve = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                try
                {
                    var ctx = await listener.GetContextAsync();
                    Interlocked.Increment(ref requests);
                    ctx.Response.StatusCode = 200;
                    await ctx.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(ClientKeyPair.Jwks(_key).ToJsonString()));
                    ctx.Response.Close();
                }
                catch (Exception) { return; }
            }
        });
        var production = new AuthlyOptions { DatabaseUrl = "", Mode = AuthlyMode.Production };
        using var keys = new ClientKeys(production, TimeProvider.System, NullLogger<ClientKeys>.Instance);
        var client = new Client { ClientId = "c", TokenEndpointAuthMethod = "private_key_jwt", JwksUri = prefix + "jwks" };
        Assert.ThrowsAsync<Authly.OAuth.OAuthException>(async () => await keys.ForAsync(client, _key.Kid, CancellationToken.None));
        // The same client in testing mode is fetched: the listener works, so zero above means "never asked".
        using var testing = new ClientKeys(production with { Mode = AuthlyMode.Testing }, TimeProvider.System, NullLogger<ClientKeys>.Instance);
        Assert.That(await testing.ForAsync(client, _key.Kid, CancellationToken.None), Has.Count.EqualTo(1));
        Assert.That(requests, Is.EqualTo(1), "only the testing-mode server fetched");
        listener.Stop();
        await serve;
    }
}
