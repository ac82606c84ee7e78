using System.Text;
using System.Text.Json.Nodes;
using Authly.Proxy;
using Authly.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Authly.Tests.Proxies;

/// <summary>
/// RFC 9068 §4 / RFC 7519 checks done locally by the proxies: signature, typ, iss, aud, exp. A token
/// that fails them is refused without asking Authly; a good one is then introspected (revocation).
/// </summary>
[TestFixture]
public sealed class ProxyTokenValidatorTests
{
    private AuthlyApp _authly = null!;
    private string _token = "";
    private AuthlyApp.TestUser _user = null!;

    private sealed class Counting(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public int Introspections;
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            if (request.RequestUri!.AbsolutePath.EndsWith("/introspect", StringComparison.Ordinal)) Interlocked.Increment(ref Introspections);
            return base.SendAsync(request, ct);
        }
    }

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _authly = await AuthlyApp.StartAsync();
        _user = await _authly.CreateUserAsync();
        _token = AuthlyApp.Str(await _authly.PasswordTokenAsync(_user.Username, _user.Password, "database:read cache:read"), "access_token");
    }

    [OneTimeTearDown]
    public void Stop() => _authly.Dispose();

    private (ProxyTokenValidator, Counting) Validator(ProxyOptions? options = null, TimeProvider? clock = null)
    {
        var counting = new Counting(_authly.Server.CreateHandler());
        var http = new HttpClient(counting) { BaseAddress = new Uri(AuthlyApp.Issuer) };
        return (new ProxyTokenValidator(options ?? new ProxyOptions { AuthlyUrl = AuthlyApp.Issuer }, http, clock ?? TimeProvider.System,
            NullLogger<ProxyTokenValidator>.Instance), counting);
    }

    [Test]
    public async Task ValidToken_GivesTheCallerFromTheToken()
    {
        var (validator, counting) = Validator();
        var caller = await validator.AuthenticateAsync(_token, CancellationToken.None);
        Assert.That(caller.Subject, Is.EqualTo(_user.Id.ToString()));
        Assert.That(caller.Username, Is.EqualTo(_user.Username));
        // Scopes other than the first party's come through the app's script client (issue 11).
        Assert.That(caller.ClientId, Is.EqualTo((await _authly.ScriptClientAsync()).Id));
        Assert.That(caller.Scopes, Is.EquivalentTo(new[] { "database:read", "cache:read" }));
        await validator.AuthenticateAsync(_token, CancellationToken.None);
        Assert.That(counting.Introspections, Is.EqualTo(1), "a second call within the second is answered from the cache");
    }

    [Test]
    public void Rfc9068_4_WrongAudience_IsRefusedLocally()
    {
        var (validator, counting) = Validator(new ProxyOptions { AuthlyUrl = AuthlyApp.Issuer, Audience = "https://another-api.example" });
        var e = Assert.ThrowsAsync<AuthlyException>(() => validator.AuthenticateAsync(_token, CancellationToken.None))!;
        Assert.That(e.Status, Is.EqualTo(401));
        Assert.That(counting.Introspections, Is.Zero);
    }

    [Test]
    public void Rfc7519_4_1_4_Expired_IsRefusedLocally()
    {
        var later = new TestClock(DateTimeOffset.UtcNow.AddDays(1));
        var (validator, counting) = Validator(clock: later);
        Assert.That(Assert.ThrowsAsync<AuthlyException>(() => validator.AuthenticateAsync(_token, CancellationToken.None))!.Status, Is.EqualTo(401));
        Assert.That(counting.Introspections, Is.Zero);
    }

    [Test]
    public void Rfc7515_TamperedPayload_IsRefusedLocally()
    {
        var parts = _token.Split('.');
        var payload = JsonNode.Parse(Encoding.UTF8.GetString(Base64Url(parts[1])))!.AsObject();
        payload["scope"] = "database:read database:write cache:read cache:write";
        var forged = parts[0] + "." + ToBase64Url(Encoding.UTF8.GetBytes(payload.ToJsonString())) + "." + parts[2];
        var (validator, counting) = Validator();
        Assert.That(Assert.ThrowsAsync<AuthlyException>(() => validator.AuthenticateAsync(forged, CancellationToken.None))!.Status, Is.EqualTo(401));
        Assert.That(counting.Introspections, Is.Zero);
    }

    [Test]
    public void Rfc7515_AlgNone_IsRefused()
    {
        var parts = _token.Split('.');
        var unsigned = ToBase64Url("{\"alg\":\"none\",\"typ\":\"at+jwt\"}"u8.ToArray()) + "." + parts[1] + ".";
        var (validator, _) = Validator();
        Assert.That(Assert.ThrowsAsync<AuthlyException>(() => validator.AuthenticateAsync(unsigned, CancellationToken.None))!.Status, Is.EqualTo(401));
    }

    [Test]
    public void AuthlyUnreachable_FailsClosedWith503()
    {
        var validator = new ProxyTokenValidator(new ProxyOptions { AuthlyUrl = "http://127.0.0.1:1" }, new HttpClient(), TimeProvider.System,
            NullLogger<ProxyTokenValidator>.Instance);
        Assert.That(Assert.ThrowsAsync<AuthlyException>(() => validator.AuthenticateAsync(_token, CancellationToken.None))!.Status, Is.EqualTo(503));
    }

    private static byte[] Base64Url(string s) => Convert.FromBase64String(s.Replace('-', '+').Replace('_', '/') + new string('=', (4 - s.Length % 4) % 4));
    private static string ToBase64Url(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
