using System.Net;
using Authly.Tests.Infrastructure;
using Authly.Tests.Vault;
using static Authly.Tests.Vault.AuthlyTokenSetup;

namespace Authly.Tests.Attacks;

/// <summary>
/// Issue 18, the vault's Authly token for a service (POST /api/v1/vault/tokens/{id}/authly-token): every way a caller
/// might get a token of a user who did not grant it one must fail, change nothing and hand out no token.
/// </summary>
[TestFixture, Category("Attacks"), Category("Vault")]
public sealed class VaultAuthlyTokenAttacks : AppFixture
{
    protected override IReadOnlyDictionary<string, string?>? Settings => AuthlyTokenSetup.Settings;

    [OneTimeSetUp]
    public Task ProviderAsync() => ConfigureProviderAsync(_app);

    [Test, Description("Issue 18: a service with a policy and vault:read, but not granted the entry, sees no entry (404)")]
    public async Task ServiceNotGranted_Is404AndNoToken()
    {
        var granted = await ServiceAsync(_app);
        var intruder = await ServiceAsync(_app);
        var (_, entry) = await GrantedEntryAsync(_app, granted.Id);

        var (status, body) = await AuthlyTokenAsync(_app, intruder.Token, entry);
        Assert.That(((int)status, AuthlyApp.Str(body, "error_code")), Is.EqualTo((404, "NOT_FOUND")), body.ToJsonString());
        Assert.That(await IssuedCountAsync(_app, entry), Is.Zero);
    }

    [Test, Description("Issue 18: a service granted one user's entry cannot name another user's entry (404), and gets no token for that user")]
    public async Task AnotherUsersEntry_Is404AndNoToken()
    {
        var service = await ServiceAsync(_app);
        var other = await ServiceAsync(_app);
        await GrantedEntryAsync(_app, service.Id);
        var (_, victims) = await GrantedEntryAsync(_app, other.Id);

        var (status, body) = await AuthlyTokenAsync(_app, service.Token, victims);
        Assert.That(((int)status, AuthlyApp.Str(body, "error_code")), Is.EqualTo((404, "NOT_FOUND")), body.ToJsonString());
        Assert.That(await IssuedCountAsync(_app, victims), Is.Zero);
    }

    [Test, Description("Issue 18 / RFC 8693 §2.1: the scope never widens — not beyond the entry's scope (write, email), not beyond the policy (openid)")]
    public async Task WideningScope_Is400ScopeNotGranted()
    {
        var service = await ServiceAsync(_app);
        var (_, entry) = await GrantedEntryAsync(_app, service.Id);

        foreach (var scope in new[] { "read write", "email", "openid", "offline_access read", "admin:users:write" })
        {
            var (status, body) = await AuthlyTokenAsync(_app, service.Token, entry, new { scope });
            Assert.That(((int)status, AuthlyApp.Str(body, "error_code"), AuthlyApp.Str(body, "field")), Is.EqualTo((400, "SCOPE_NOT_GRANTED", "scope")),
                $"{scope}: {body.ToJsonString()}");
        }
        Assert.That(await IssuedCountAsync(_app, entry), Is.Zero);
    }

    [Test, Description("Issue 18: once the user withdraws the grant, the service gets no further token (404)")]
    public async Task RevokedGrant_StopsFurtherTokens()
    {
        var service = await ServiceAsync(_app);
        var (user, entry) = await GrantedEntryAsync(_app, service.Id);
        Assert.That((await AuthlyTokenAsync(_app, service.Token, entry)).Status, Is.EqualTo(HttpStatusCode.OK));
        using var owner = VaultApp.Client(_app, user.Token);
        Assert.That((await VaultApp.SendAsync(owner, HttpMethod.Delete, $"/api/v1/vault/tokens/{entry}/grants/{service.Id}")).Status, Is.EqualTo(HttpStatusCode.OK));

        var (status, body) = await AuthlyTokenAsync(_app, service.Token, entry);
        Assert.That(((int)status, AuthlyApp.Str(body, "error_code")), Is.EqualTo((404, "NOT_FOUND")), body.ToJsonString());
        Assert.That(await IssuedCountAsync(_app, entry), Is.EqualTo(1), "only the token from before the withdrawal");
    }

    [Test, Description("Issue 18: a user's token is no service credential — neither the owner's own nor one issued through the granted client (403)")]
    public async Task UserTokenAsServiceCredential_Is403AndNoToken()
    {
        // The script client, which has the password grant, is the granted "service" here, with a policy.
        var (scriptId, _) = await _app.ScriptClientAsync();
        await Issue18Clients.SetPolicyAsync(_app, scriptId, PolicyScope);
        var (user, entry) = await GrantedEntryAsync(_app, scriptId);
        var throughService = await VaultApp.ThirdPartyTokenAsync(_app, user, "vault:read");

        foreach (var (who, bearer) in new[] { ("the user through the granted client", throughService), ("the owner in person", user.Token) })
        {
            var (status, body) = await AuthlyTokenAsync(_app, bearer, entry);
            Assert.That(((int)status, AuthlyApp.Str(body, "error_code")), Is.EqualTo((403, "FORBIDDEN")), $"{who}: {body.ToJsonString()}");
        }
        Assert.That(await IssuedCountAsync(_app, entry), Is.Zero);
    }
}
