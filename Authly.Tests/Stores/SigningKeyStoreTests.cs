using Authly.Cluster;
using Authly.Configuration;
using Authly.Storage;
using Authly.Tests.Infrastructure;
using Authly.Tokens;
using Dapper;
using Microsoft.IdentityModel.JsonWebTokens;
using Npgsql;
using StackExchange.Redis;

namespace Authly.Tests.Stores;

/// <summary>Signing keys shared by every node through PostgreSQL: creation, rotation, the JWKS grace period, the secret that seals them.</summary>
[TestFixture, Category("Core")]
public sealed class SigningKeyStoreTests
{
    private const string Secret = "signing-key-test-secret-0123456789abcdef";
    private const string IssuerUrl = "http://issuer.test";
    private readonly List<IAsyncDisposable> _disposables = [];

    [TearDown]
    public async Task DisposeAsync()
    {
        foreach (var d in _disposables) await d.DisposeAsync();
        _disposables.Clear();
    }

    private async Task<(string ConnectionString, NpgsqlDataSource Db)> NewDatabaseAsync()
    {
        var cs = await TestServers.CreateDatabaseAsync();
        var db = NpgsqlDataSource.Create(cs);
        _disposables.Add(db);
        return (cs, db);
    }

    private static AuthlyOptions Options(string cs, string secret = Secret, string algorithm = "RS256") =>
        new() { DatabaseUrl = cs, JwtSecretKey = secret, SigningAlgorithm = algorithm };

    /// <summary>One node's view: its own data source and bus over the shared database.</summary>
    private SigningKeyStore Node(string cs, IClusterBus? bus = null, string secret = Secret, string algorithm = "RS256")
    {
        var db = NpgsqlDataSource.Create(cs);
        _disposables.Add(db);
        return new SigningKeyStore(db, bus ?? new LocalClusterBus(), TimeProvider.System, Options(cs, secret, algorithm),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<SigningKeyStore>.Instance);
    }

    private static JwtIssuer Jwt(SigningKeyStore keys, AuthlyOptions options)
    {
        var issuer = new Issuer();
        issuer.Set(IssuerUrl);
        return new JwtIssuer(keys, issuer, options, TimeProvider.System);
    }

    private static async Task<string[]> JwksKidsAsync(SigningKeyStore keys) =>
        (await keys.JwksAsync(CancellationToken.None)).Select(k => k["kid"]).ToArray();

    [Test]
    public async Task FirstLoad_OnAFreshDatabase_CreatesOneActiveKeyAndPublishesOnlyItsPublicPart()
    {
        var (cs, db) = await NewDatabaseAsync();
        var keys = Node(cs);
        var ring = await keys.RingAsync(CancellationToken.None);
        var jwks = await keys.JwksAsync(CancellationToken.None);
        await using var conn = await db.OpenConnectionAsync();
        var rows = await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM signing_keys WHERE retired_at IS NULL");
        Assert.Multiple(() =>
        {
            Assert.That(ring.Active.IsActive, Is.True);
            Assert.That(ring.Active.Algorithm, Is.EqualTo("RS256"));
            Assert.That(rows, Is.EqualTo(1));
            Assert.That(jwks, Has.Count.EqualTo(1));
            Assert.That(jwks[0]["kid"], Is.EqualTo(ring.Active.Kid));
            Assert.That(jwks[0]["kty"], Is.EqualTo("RSA"));
            Assert.That(jwks[0]["use"], Is.EqualTo("sig"));
            Assert.That(jwks[0]["alg"], Is.EqualTo("RS256"));
            Assert.That(jwks[0].Keys, Is.EquivalentTo(new[] { "kty", "use", "alg", "kid", "n", "e" }), "no private parameters");
        });
    }

    [Test]
    public async Task Load_OnAnotherNode_UsesTheSameKey()
    {
        var (cs, _) = await NewDatabaseAsync();
        var first = await Node(cs).RingAsync(CancellationToken.None);
        var second = await Node(cs).RingAsync(CancellationToken.None);
        Assert.That(second.Active.Kid, Is.EqualTo(first.Active.Kid));
    }

    [Test, Repeat(5), Description("A race: with no active key there is no row to lock, so key changes take an advisory lock")]
    public async Task FirstLoad_OnTwoNodesAtOnce_AgreesOnOneKey()
    {
        var (cs, db) = await NewDatabaseAsync();
        var rings = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () => await Node(cs).RingAsync(CancellationToken.None))));
        await using var conn = await db.OpenConnectionAsync();
        Assert.That(rings.Select(r => r.Active.Kid).Distinct(), Has.Exactly(1).Items);
        Assert.That(await conn.ExecuteScalarAsync<long>("SELECT count(*) FROM signing_keys WHERE retired_at IS NULL"), Is.EqualTo(1));
    }

    [Test]
    public async Task Rotate_RetiresTheOldKey_WhichStaysInTheJwksUntilVerifyUntil()
    {
        var (cs, db) = await NewDatabaseAsync();
        var keys = Node(cs);
        var old = (await keys.RingAsync(CancellationToken.None)).Active;

        var rotated = await keys.RotateAsync(CancellationToken.None);

        await using var conn = await db.OpenConnectionAsync();
        var (retiredAt, verifyUntil) = await conn.QuerySingleAsync<(DateTime?, DateTime?)>(
            "SELECT retired_at, verify_until FROM signing_keys WHERE kid = @Kid", new { old.Kid });
        var ring = await keys.RingAsync(CancellationToken.None);
        await Assert.MultipleAsync(async () =>
        {
            Assert.That(rotated.Kid, Is.Not.EqualTo(old.Kid));
            Assert.That(ring.Active.Kid, Is.EqualTo(rotated.Kid));
            Assert.That(retiredAt, Is.Not.Null);
            // Access tokens live 60 minutes by default: the retired key must outlive every token it signed.
            Assert.That(verifyUntil, Is.GreaterThan(retiredAt!.Value.AddMinutes(60)));
            Assert.That(await JwksKidsAsync(keys), Is.EquivalentTo(new[] { old.Kid, rotated.Kid }));
        });
    }

    [Test]
    public async Task TokenSignedBeforeRotation_StillValidatesAfterIt_AndNewTokensUseTheNewKey()
    {
        var (cs, _) = await NewDatabaseAsync();
        var keys = Node(cs);
        var jwt = Jwt(keys, Options(cs));
        var before = await jwt.CreateAccessTokenAsync("user-1", "client-1", "read", "alice", CancellationToken.None);

        var rotated = await keys.RotateAsync(CancellationToken.None);
        var after = await jwt.CreateAccessTokenAsync("user-1", "client-1", "read", "alice", CancellationToken.None);

        await Assert.MultipleAsync(async () =>
        {
            Assert.That((await jwt.ValidateAsync(before.Token, CancellationToken.None))?.Jti, Is.EqualTo(before.Jti));
            Assert.That((await jwt.ValidateAsync(after.Token, CancellationToken.None))?.Jti, Is.EqualTo(after.Jti));
            Assert.That(new JsonWebToken(after.Token).Kid, Is.EqualTo(rotated.Kid));
            Assert.That(new JsonWebToken(before.Token).Kid, Is.Not.EqualTo(rotated.Kid));
        });
    }

    [Test]
    public async Task RetiredKey_PastVerifyUntil_LeavesTheJwks_AndItsTokensNoLongerValidate()
    {
        var (cs, db) = await NewDatabaseAsync();
        var keys = Node(cs);
        var jwt = Jwt(keys, Options(cs));
        var old = (await keys.RingAsync(CancellationToken.None)).Active;
        var token = await jwt.CreateAccessTokenAsync("user-1", "client-1", "read", null, CancellationToken.None);
        await keys.RotateAsync(CancellationToken.None);
        await using (var conn = await db.OpenConnectionAsync())
            await conn.ExecuteAsync("UPDATE signing_keys SET verify_until = now() - interval '1 second' WHERE kid = @Kid", new { old.Kid });

        // A node that loads the ring now (the first one's cached ring is up to five minutes old by design).
        var later = Node(cs);
        Assert.That(await JwksKidsAsync(later), Does.Not.Contain(old.Kid));
        Assert.That(await Jwt(later, Options(cs)).ValidateAsync(token.Token, CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Rotate_OnOneNode_IsSeenByAnotherNodeOverRedis()
    {
        var (cs, _) = await NewDatabaseAsync();
        var prefix = $"t{Guid.NewGuid():N}:";
        var nodeA = Node(cs, new RedisClusterBus(await RedisAsync(), prefix));
        var nodeB = Node(cs, new RedisClusterBus(await RedisAsync(), prefix));
        var before = (await nodeB.RingAsync(CancellationToken.None)).Active.Kid;
        Assert.That((await nodeA.RingAsync(CancellationToken.None)).Active.Kid, Is.EqualTo(before));

        var rotated = await nodeA.RotateAsync(CancellationToken.None);

        // Node B's ring is cached for five minutes; only the announcement can make it see the new key this soon.
        var seen = await Eventually.TrueAsync(async () => (await nodeB.RingAsync(CancellationToken.None)).Active.Kid == rotated.Kid, TimeSpan.FromSeconds(2));
        Assert.That(seen, Is.True, "node B still signs with the retired key");
        Assert.That(await JwksKidsAsync(nodeB), Is.EquivalentTo(new[] { before, rotated.Kid }));
    }

    [Test]
    public async Task Load_WithAnotherJwtSecretKey_FailsWithAMessageAboutJwtSecretKey()
    {
        var (cs, _) = await NewDatabaseAsync();
        await Node(cs).RingAsync(CancellationToken.None);
        var wrong = Node(cs, secret: "a-different-secret-on-this-node-0123456789");
        var e = Assert.ThrowsAsync<InvalidOperationException>(async () => await wrong.RingAsync(CancellationToken.None))!;
        Assert.That(e.Message, Does.Contain("JWT_SECRET_KEY"));
    }

    [Test]
    public async Task Load_WithEs256_CreatesAnEcKey()
    {
        var (cs, _) = await NewDatabaseAsync();
        var keys = Node(cs, algorithm: "ES256");
        var jwks = await keys.JwksAsync(CancellationToken.None);
        Assert.That(jwks.Single()["kty"], Is.EqualTo("EC"));
        Assert.That(jwks.Single()["crv"], Is.EqualTo("P-256"));
        Assert.That(jwks.Single().Keys, Does.Not.Contain("d"));
    }

    [Test]
    public async Task AlgorithmChange_RotatesToANewKey_AndTokensSignedBeforeItStillValidate()
    {
        var (cs, _) = await NewDatabaseAsync();
        var rsaNode = Node(cs);
        var rsaToken = await Jwt(rsaNode, Options(cs)).CreateAccessTokenAsync("user-1", "client-1", "read", null, CancellationToken.None);

        // The operator switches AUTHLY_SIGNING_ALGORITHM and restarts.
        var ecNode = Node(cs, algorithm: "ES256");
        var ecJwt = Jwt(ecNode, Options(cs, algorithm: "ES256"));
        var ring = await ecNode.RingAsync(CancellationToken.None);

        Assert.That(ring.Active.Algorithm, Is.EqualTo("ES256"));
        Assert.That(ring.All.Select(k => k.Algorithm), Is.EquivalentTo(new[] { "ES256", "RS256" }));
        Assert.That(await ecJwt.ValidateAsync(rsaToken.Token, CancellationToken.None), Is.Not.Null,
            "a token signed by the retired RS256 key is still within its life");
    }

    [Test, Description("A rotation this node missed (no bus): a token with the new kid reloads the ring once and validates")]
    public async Task Validate_TokenWithKidThisNodeHasNotLoaded_ReloadsTheRingAndValidates()
    {
        var (cs, _) = await NewDatabaseAsync();
        var nodeA = Node(cs);
        var nodeB = Node(cs);
        var jwtB = Jwt(nodeB, Options(cs));
        await nodeB.RingAsync(CancellationToken.None); // B caches the first key
        await nodeA.RotateAsync(CancellationToken.None); // and hears nothing of this rotation
        var token = await Jwt(nodeA, Options(cs)).CreateAccessTokenAsync("user-1", "client-1", "read", null, CancellationToken.None);

        Assert.That(await jwtB.ValidateAsync(token.Token, CancellationToken.None), Is.Not.Null);
    }

    [Test, Description("Made-up kids cannot force a database read per token: one reload per interval")]
    public async Task RingWithUnknownKid_ForMadeUpKids_ReloadsAtMostOncePerInterval()
    {
        var (cs, _) = await NewDatabaseAsync();
        var node = Node(cs);
        var before = await node.RingAsync(CancellationToken.None);
        Assert.That(await node.RingWithUnknownKidAsync("made-up-1", CancellationToken.None), Is.Null);
        var afterFirst = await node.RingAsync(CancellationToken.None);
        Assert.That(afterFirst, Is.Not.SameAs(before), "the first unknown kid reloads");
        Assert.That(await node.RingWithUnknownKidAsync("made-up-2", CancellationToken.None), Is.Null);
        Assert.That(await node.RingAsync(CancellationToken.None), Is.SameAs(afterFirst), "the second, within the interval, does not");
        Assert.That(await node.RingWithUnknownKidAsync(before.Active.Kid, CancellationToken.None), Is.SameAs(afterFirst), "a known kid needs no reload");
    }

    [Test]
    public async Task Hs256Mode_PublishesNoKeys_AndRefusesRotation()
    {
        var (cs, _) = await NewDatabaseAsync();
        var keys = Node(cs, algorithm: "HS256");
        Assert.That(await keys.JwksAsync(CancellationToken.None), Is.Empty);
        // SigningKeyRules: the store and the admin API refuse with the same 409.
        Assert.That(Assert.ThrowsAsync<AuthlyException>(() => keys.RotateAsync(CancellationToken.None))!.Status, Is.EqualTo(409));
    }

    private async Task<IConnectionMultiplexer> RedisAsync()
    {
        var redis = await ConnectionMultiplexer.ConnectAsync(RedisUrl.Parse(TestServers.RedisUrl));
        _disposables.Add(new AsyncDisposable(redis.Dispose));
        return redis;
    }

    private sealed class AsyncDisposable(Action dispose) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() { dispose(); return ValueTask.CompletedTask; }
    }
}
