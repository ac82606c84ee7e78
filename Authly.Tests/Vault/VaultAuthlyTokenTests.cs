using System.Net;
using Authly.Tests.Infrastructure;
using static Authly.Tests.Infrastructure.Issue18Clients;
using static Authly.Tests.Vault.AuthlyTokenSetup;

namespace Authly.Tests.Vault;

/// <summary>
/// Issue 18: "the token vault can use [token exchange] to hand a service a down-scoped token of this Authly for a user who
/// granted the entry" — POST /api/v1/vault/tokens/{id}/authly-token. The abuses are in Attacks/VaultAuthlyTokenAttacks.
/// </summary>
[TestFixture, Category("Vault")]
public sealed class VaultAuthlyTokenTests : AppFixture
{
    protected override IReadOnlyDictionary<string, string?>? Settings => AuthlyTokenSetup.Settings;

    [OneTimeSetUp]
    public Task ProviderAsync() => ConfigureProviderAsync(_app);

    [Test, Description("Issue 18 / RFC 8693 §4.1: the granted service gets a token for the user (sub), scope = entry ∩ policy, act = the service, " +
                       "never beyond the entry's refresh token; the entry itself is not refreshed")]
    public async Task AuthlyToken_GrantedService_GetsUsersTokenWithActAndNarrowedScope()
    {
        var service = await ServiceAsync(_app);
        var (user, entry) = await GrantedEntryAsync(_app, service.Id);

        var (status, body) = await AuthlyTokenAsync(_app, service.Token, entry);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        var token = AuthlyApp.Str(body, "access_token");
        var claims = Payload(token);
        var refreshExpires = await _app.SqlScalarAsync<double>(
            """
            SELECT extract(epoch FROM t.expires_at) FROM refresh_tokens t
            WHERE t.user_id = @User AND t.rotated_at IS NULL AND t.client_id = (SELECT client_id FROM vault_providers WHERE name = 'authly')
            """, new { User = user.Id });
        Assert.Multiple(() =>
        {
            Assert.That(AuthlyApp.Str(body, "scope"), Is.EqualTo("read"), "entry {openid offline_access read} ∩ policy {read write email}");
            Assert.That(AuthlyApp.Str(body, "issued_token_type"), Is.EqualTo(AccessTokenType));
            Assert.That(AuthlyApp.Str(body, "entry_id"), Is.EqualTo(entry.ToString()));
            Assert.That(body.ContainsKey("refresh_token"), Is.False);
            Assert.That(claims["sub"]!.GetValue<string>(), Is.EqualTo(user.Id.ToString()));
            Assert.That(claims["client_id"]!.GetValue<string>(), Is.EqualTo(service.Id));
            Assert.That(claims["act"]!["sub"]!.GetValue<string>(), Is.EqualTo(service.Id));
            Assert.That(claims["act"]!.AsObject().ContainsKey("act"), Is.False);
            // Access tokens may live a day here, and so may refresh tokens: the entry's, issued first, is the limit.
            Assert.That(claims["exp"]!.GetValue<long>(), Is.LessThanOrEqualTo((long)refreshExpires), "never outlives the entry's refresh token");
        });
        var introspected = await AuthlyApp.JsonAsync(await _app.PostFormAsync(IntrospectPath, AuthlyApp.Basic(service.Id, service.Secret), ("token", token)));
        Assert.That((introspected["active"]!.GetValue<bool>(), AuthlyApp.Str(introspected, "sub")), Is.EqualTo((true, user.Id.ToString())));

        var (narrowStatus, narrow) = await AuthlyTokenAsync(_app, service.Token, entry, new { scope = "read", audience = "https://api.example.test" });
        Assert.That(narrowStatus, Is.EqualTo(HttpStatusCode.OK), narrow.ToJsonString());
        Assert.That(Payload(AuthlyApp.Str(narrow, "access_token"))["aud"]!.ToString(), Does.Contain("https://api.example.test"), "an audience of the policy");

        Assert.That(await _app.SqlScalarAsync<DateTime?>("SELECT last_refreshed_at FROM vault_entries WHERE id = @Entry", new { Entry = entry }),
            Is.Null, "the stored refresh token is looked up, not used");
        Assert.That(await IssuedCountAsync(_app, entry), Is.EqualTo(2), "each token is in the entry's access record");
    }

    [Test, Description("Issue 18: a service without a token-exchange policy gets no Authly token, even for an entry granted to it")]
    public async Task AuthlyToken_ServiceWithoutPolicy_Is403TokenExchangeNotAllowed()
    {
        var service = await ServiceAsync(_app, withPolicy: false);
        var (_, entry) = await GrantedEntryAsync(_app, service.Id);

        var (status, body) = await AuthlyTokenAsync(_app, service.Token, entry);
        Assert.That(((int)status, AuthlyApp.Str(body, "error_code")), Is.EqualTo((403, "TOKEN_EXCHANGE_NOT_ALLOWED")), body.ToJsonString());
        Assert.That(await IssuedCountAsync(_app, entry), Is.Zero);
    }

    [Test, Description("Issue 18: bad input (malformed scope, audience outside the policy, a body that is no object) is a 400 naming the field; no token")]
    public async Task AuthlyToken_BadInput_Is400NamingTheField()
    {
        var service = await ServiceAsync(_app);
        var (_, entry) = await GrantedEntryAsync(_app, service.Id);

        var (s1, badScope) = await AuthlyTokenAsync(_app, service.Token, entry, new { scope = "read\u0001" });
        var (s2, badAudience) = await AuthlyTokenAsync(_app, service.Token, entry, new { audience = "https://elsewhere.example.test" });
        var (s3, notObject) = await AuthlyTokenAsync(_app, service.Token, entry, new[] { "read" });
        Assert.Multiple(() =>
        {
            Assert.That(((int)s1, AuthlyApp.Str(badScope, "field")), Is.EqualTo((400, "scope")), badScope.ToJsonString());
            Assert.That(((int)s2, AuthlyApp.Str(badAudience, "error_code"), AuthlyApp.Str(badAudience, "field")),
                Is.EqualTo((400, "INVALID_TARGET", "audience")), badAudience.ToJsonString());
            Assert.That((int)s3, Is.EqualTo(400), notObject.ToJsonString());
        });
        Assert.That(await IssuedCountAsync(_app, entry), Is.Zero);
    }

    [Test, Description("Issue 18: a revoked entry (here and at Authly) gives no more tokens: 409 ENTRY_REVOKED")]
    public async Task AuthlyToken_RevokedEntry_Is409()
    {
        var service = await ServiceAsync(_app);
        var (user, entry) = await GrantedEntryAsync(_app, service.Id);
        using var owner = VaultApp.Client(_app, user.Token);
        Assert.That((await VaultApp.SendAsync(owner, HttpMethod.Delete, $"/api/v1/vault/tokens/{entry}")).Status, Is.EqualTo(HttpStatusCode.OK));

        var (status, body) = await AuthlyTokenAsync(_app, service.Token, entry);
        Assert.That(((int)status, AuthlyApp.Str(body, "error_code")), Is.EqualTo((409, "ENTRY_REVOKED")), body.ToJsonString());
    }

    [Test, Description("Issue 18: when the user ends the refresh token's family at Authly, the entry no longer yields tokens (409 ENTRY_TOKEN_INVALID)")]
    public async Task AuthlyToken_RefreshFamilyRevokedAtAuthly_Is409()
    {
        var service = await ServiceAsync(_app);
        var (user, entry) = await GrantedEntryAsync(_app, service.Id);
        await _app.SqlScalarAsync<int>("UPDATE refresh_token_families SET revoked_at = now() WHERE user_id = @User RETURNING 1", new { User = user.Id });

        var (status, body) = await AuthlyTokenAsync(_app, service.Token, entry);
        Assert.That(((int)status, AuthlyApp.Str(body, "error_code")), Is.EqualTo((409, "ENTRY_TOKEN_INVALID")), body.ToJsonString());
    }
}
