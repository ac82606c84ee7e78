using System.Net;
using System.Text.Json.Nodes;
using Authly.Tests.Infrastructure;
using Authly.Tokens;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Authly.Tests.Cluster;

/// <summary>
/// Issue 18 "automatic key rotation": three in-process nodes on one database and one hand-moved clock. A due key is
/// published before it signs, every node signs with it from the same stored instant, and the old key verifies
/// everywhere until the last token it signed has expired, then leaves the JWKS and the table.
/// </summary>
[TestFixture, Category("Cluster"), NonParallelizable]
public sealed class KeyRotationAcrossNodesTests
{
    private AuthlyApp[] _nodes = [];
    private TestClock _clock = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _clock = new TestClock(DateTimeOffset.UtcNow);
        var first = await AuthlyApp.StartOnDatabaseAsync(await TestServers.CreateDatabaseAsync(),
            new Dictionary<string, string?> { ["AUTHLY_KEY_ROTATION_DAYS"] = "1" }, _clock);
        _nodes = [first, first.StartPeer(_clock), first.StartPeer(_clock)];
    }

    [TearDown]
    public void Stop()
    {
        foreach (var node in _nodes) node.Dispose();
    }

    private static async Task<string> SignedKidAsync(AuthlyApp node) =>
        new JsonWebToken(AuthlyApp.Str(await node.PasswordTokenAsync(scope: "account:read"), "access_token")).Kid;

    private static async Task<string[]> JwksKidsAsync(AuthlyApp node)
    {
        var response = await node.CreateClient().GetAsync("/.well-known/jwks.json");
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["keys"]!.AsArray().Select(k => k!["kid"]!.GetValue<string>()).ToArray();
    }

    private static async Task<bool> ActiveAsync(AuthlyApp node, string token) =>
        (await AuthlyApp.JsonAsync(await node.PostFormAsync("/api/v1/oauth/introspect", ("token", token))))["active"]!.GetValue<bool>();

    private async Task<(string Kid, DateTime ActivatesAt)[]> UnretiredKeysAsync()
    {
        await using var db = _nodes[0].Database();
        await using var conn = await db.OpenConnectionAsync();
        return (await conn.QueryAsync<(string, DateTime)>("SELECT kid, activates_at FROM signing_keys WHERE retired_at IS NULL OR retired_at > @Now",
            new { Now = _clock.GetUtcNow() })).ToArray();
    }

    [Test, Description("Issue 18: published before it signs, every node switches at the stored instant, the old key verifies until its tokens expire")]
    public async Task RotationDue_NewKeyIsPublishedFirst_EveryNodeSignsWithItFromTheStoredInstant_OldTokensVerifyUntilTheyExpire()
    {
        var oldKid = await SignedKidAsync(_nodes[0]);
        _clock.Advance(TimeSpan.FromDays(1) - TimeSpan.FromMinutes(10));

        // Every node offers a round at once: one takes the lock and schedules, the others find it busy or already done.
        var outcomes = await Task.WhenAll(_nodes.Select(n => n.Services.GetRequiredService<SigningKeyRotation>().RunOnceAsync(CancellationToken.None)));
        var keys = await UnretiredKeysAsync();
        var pending = keys.Single(k => k.Kid != oldKid);
        Assert.Multiple(() =>
        {
            Assert.That(outcomes.Count(o => o == SigningKeyStore.RoundOutcome.Scheduled), Is.AtMost(1), string.Join(",", outcomes));
            Assert.That(keys, Has.Length.EqualTo(2), "one new key, not one per node");
            Assert.That(pending.ActivatesAt, Is.GreaterThanOrEqualTo(_clock.GetUtcNow().UtcDateTime + SigningKeyStore.AnnouncePeriod - TimeSpan.FromSeconds(1)),
                "the announce period is kept");
            Assert.That(SigningKeyStore.AnnouncePeriod, Is.GreaterThan(SigningKeyStore.JwksMaxAge), "longer than any JWKS copy a client is told to keep");
        });

        // Published on every node before it signs (the cluster bus announces it; the ring is also re-read within 5 minutes).
        foreach (var node in _nodes)
        {
            Assert.That(await Eventually.TrueAsync(async () => (await JwksKidsAsync(node)).Contains(pending.Kid), TimeSpan.FromSeconds(10)), Is.True,
                "the new key is in every node's JWKS before it signs");
            Assert.That(await SignedKidAsync(node), Is.EqualTo(oldKid), "not signing yet");
        }

        _clock.Advance(pending.ActivatesAt - _clock.GetUtcNow().UtcDateTime - TimeSpan.FromSeconds(1));
        var lastOldToken = AuthlyApp.Str(await _nodes[1].PasswordTokenAsync(scope: "account:read"), "access_token");
        Assert.That(new JsonWebToken(lastOldToken).Kid, Is.EqualTo(oldKid), "one second before the instant the old key still signs");

        _clock.Advance(TimeSpan.FromSeconds(1));
        foreach (var node in _nodes)
            Assert.That(await SignedKidAsync(node), Is.EqualTo(pending.Kid), "at the stored instant every node signs with the new key");

        // The last token the old key signed lives ACCESS_TOKEN_EXPIRE_MINUTES (60): it verifies everywhere until then.
        _clock.Advance(TimeSpan.FromMinutes(59));
        foreach (var node in _nodes)
        {
            Assert.That(await ActiveAsync(node, lastOldToken), Is.True, "a token of the retired key verifies until it expires");
            Assert.That(await JwksKidsAsync(node), Does.Contain(oldKid));
        }

        // Past its last token's expiry plus the skew allowance the old key leaves the JWKS, and the next round deletes its row.
        _clock.Advance(TimeSpan.FromMinutes(1) + SigningKeyStore.RetiredKeySkew + TimeSpan.FromMinutes(1));
        await _nodes[2].Services.GetRequiredService<SigningKeyRotation>().RunOnceAsync(CancellationToken.None);
        Assert.That(await _nodes[0].SqlScalarAsync<long>("SELECT count(*) FROM signing_keys WHERE kid = @Kid", new { Kid = oldKid }), Is.Zero);
        foreach (var node in _nodes)
            Assert.That(await JwksKidsAsync(node), Is.EqualTo(new[] { pending.Kid }), "the ring re-read after its 5 minutes holds the new key only");
    }

    [Test, Description("Issue 18: manual rotation is the answer to a leaked key, so it signs at once, and drops a key still waiting for its instant")]
    public async Task ManualRotation_WhileAKeyIsPending_SignsWithANewKeyAtOnce_AndDropsThePendingKey()
    {
        var oldKid = await SignedKidAsync(_nodes[0]);
        _clock.Advance(TimeSpan.FromDays(1));
        await _nodes[0].Services.GetRequiredService<SigningKeyRotation>().RunOnceAsync(CancellationToken.None);
        var pendingKid = (await UnretiredKeysAsync()).Single(k => k.Kid != oldKid).Kid;

        var response = await _nodes[1].BearerClient(await _nodes[1].AdminTokenAsync("admin:system:write")).PostAsync("/admin/keys/rotate", null);
        var body = await AuthlyApp.JsonAsync(response);
        var newKid = AuthlyApp.Str(body, "kid");
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(AuthlyApp.Str(body, "message"), Does.Contain("immediately"));
            Assert.That(newKid, Is.Not.EqualTo(oldKid).And.Not.EqualTo(pendingKid));
        });
        foreach (var node in _nodes)
        {
            Assert.That(await Eventually.TrueAsync(async () => await SignedKidAsync(node) == newKid, TimeSpan.FromSeconds(10)), Is.True,
                "every node signs with the manual key at once");
            Assert.That(await JwksKidsAsync(node), Does.Not.Contain(pendingKid), "a key that never signed is not kept");
        }
        _clock.Advance(TimeSpan.FromDays(1) - TimeSpan.FromMinutes(20));
        Assert.That(await SignedKidAsync(_nodes[2]), Is.EqualTo(newKid), "the dropped pending key never takes over at its old instant");
    }
}
