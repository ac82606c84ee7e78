using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Authly.Caching;
using Authly.Cluster;
using Authly.Configuration;
using Authly.Storage;
using Authly.Security;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace Authly.Tokens;

/// <summary>
/// The signing keys every node shares. Rows live in PostgreSQL with the private part sealed
/// under a key derived from JWT_SECRET_KEY; each node caches the ring (<see cref="RefreshingValue{TValue}"/>)
/// and re-reads it when a rotation is announced (or after five minutes, in case the announcement was missed).
/// A retired key stays in the JWKS until every token it signed has expired, so a newer ring only adds
/// to an older one: an announcement makes the ring due, it does not drop it. While PostgreSQL is
/// unreachable the last ring loaded keeps signing and verifying for at most AUTHLY_STALE_CACHE_SECONDS
/// (issue 12 finding 4: introspection of valid tokens failed once the five minutes ran out mid-outage).
/// </summary>
public sealed class SigningKeyStore
{
    private const string Topic = "keys";
    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(5);
    private readonly NpgsqlDataSource _db;
    private readonly IClusterBus _bus;
    private readonly TimeProvider _clock;
    private readonly AuthlyOptions _options;
    private readonly SecretBox _box;
    private readonly RefreshingValue<KeyRing> _ring;
    // Reloads forced by a kid this node does not know, at most one per interval: a flood of tokens
    // with made-up kids must not become a flood of database reads.
    private static readonly TimeSpan UnknownKidReloadInterval = TimeSpan.FromSeconds(10);
    private long _lastUnknownKidReload = long.MinValue;

    /// <summary>
    /// How long a verifier may cache the JWKS (<c>Cache-Control: public, max-age</c>): the one place
    /// that says it. A rotation signs with the new key at once, so this bounds how long a verifier that
    /// does not re-fetch on an unknown kid rejects new tokens; it is far shorter than a retired key stays
    /// published (<see cref="RetiredKeyGrace"/>: the access token lifetime plus 65 minutes), so no cached
    /// copy outlives a key it lists. Issue 18 will tie rotation to an announce period of at least this.
    /// </summary>
    public static readonly TimeSpan JwksMaxAge = TimeSpan.FromSeconds(60);

    /// <summary>The key that signs, and every key that still verifies. The same instance until the ring is re-read.</summary>
    public sealed record KeyRing(SigningKey Active, IReadOnlyList<SigningKey> All)
    {
        /// <summary>RFC 7517 §5 JWK set of the ring's public keys, serialized and tagged once per ring.</summary>
        public PublishedDocument Jwks { get; } =
            PublishedDocument.Of(new { keys = All.Where(k => k.PublicJwk is not null).Select(k => k.PublicJwk!).ToList() }, JwksMaxAge);
    }

    public SigningKeyStore(NpgsqlDataSource db, IClusterBus bus, TimeProvider clock, AuthlyOptions options, ILogger<SigningKeyStore> log)
    {
        (_db, _bus, _clock, _options) = (db, bus, clock, options);
        _box = new SecretBox(options.JwtSecretKey, "authly-signing-keys");
        _ring = new RefreshingValue<KeyRing>("signing keys", clock, log, CacheFor, options.StaleCacheFor, LoadAsync);
        bus.Subscribe(Topic, _ => _ring.Expire());
    }

    /// <summary>How long a retired key must still verify: the longest life of anything it signed, plus skew.</summary>
    private TimeSpan RetiredKeyGrace => _options.AccessTokenLifetime + TimeSpan.FromHours(1) + TimeSpan.FromMinutes(5);

    public ValueTask<KeyRing> RingAsync(CancellationToken ct) => _ring.GetAsync(ct);

    /// <summary>
    /// A token names a kid this node's ring lacks: another node may have rotated while the
    /// announcement did not reach us (no Redis, a dropped message). Reloads the ring, at most once
    /// per <see cref="UnknownKidReloadInterval"/>, and returns it when it now holds the kid; else null.
    /// </summary>
    public async ValueTask<KeyRing?> RingWithUnknownKidAsync(string kid, CancellationToken ct)
    {
        var current = await RingAsync(ct);
        if (current.All.Any(k => k.Kid == kid)) return current;
        var now = _clock.GetUtcNow().UtcTicks;
        var last = Interlocked.Read(ref _lastUnknownKidReload);
        if (last != long.MinValue && now - last < UnknownKidReloadInterval.Ticks) return null;
        if (Interlocked.CompareExchange(ref _lastUnknownKidReload, now, last) != last) return null;
        _ring.Expire();
        var reloaded = await RingAsync(ct);
        return reloaded.All.Any(k => k.Kid == kid) ? reloaded : null;
    }

    private sealed record Row(string Kid, string Alg, string? PublicJwk, byte[]? PrivateKeyEncrypted, DateTime CreatedAt, DateTime? RetiredAt, DateTime? VerifyUntil);

    private const string LoadSql = """
        SELECT kid, alg, public_jwk, private_key_encrypted, created_at, retired_at, verify_until
        FROM signing_keys
        WHERE retired_at IS NULL OR verify_until > now()
        ORDER BY created_at DESC
        """;

    private async Task<KeyRing> LoadAsync(CancellationToken ct)
    {
        if (_options.SigningAlgorithm == "HS256")
        {
            // Compatibility mode: one shared secret, nothing published in the JWKS.
            var hs = new SigningKey("hs256", "HS256", new SymmetricSecurityKey(Encoding.UTF8.GetBytes(_options.JwtSecretKey)) { KeyId = "hs256" },
                null, DateTime.UnixEpoch, null, null);
            return new KeyRing(hs, [hs]);
        }
        for (var attempt = 0; ; attempt++)
        {
            await using var conn = await _db.OpenAsync(ct);
            var rows = (await conn.QueryAsync<Row>(new CommandDefinition(LoadSql, cancellationToken: ct))).AsList();
            var active = rows.FirstOrDefault(r => r.RetiredAt is null);
            if (active is not null && active.Alg == _options.SigningAlgorithm)
            {
                var keys = rows.Select(ToKey).ToList();
                return new KeyRing(keys.First(k => k.IsActive), keys);
            }
            if (attempt > 2) throw new InvalidOperationException("Could not establish an active signing key.");
            // No active key yet, or the configured algorithm changed: rotate to a new one.
            // The unique index on the active key makes concurrent first starts safe: one wins.
            await RotateCoreAsync(conn, onlyIfNeeded: true, ct);
        }
    }

    private SigningKey ToKey(Row r)
    {
        byte[] der;
        try { der = _box.Open(r.PrivateKeyEncrypted ?? [], r.Kid); }
        catch (CryptographicException e)
        {
            throw new InvalidOperationException(
                $"Signing key {r.Kid} cannot be decrypted: JWT_SECRET_KEY differs from the one it was stored with. " +
                "Every node must use the same JWT_SECRET_KEY.", e);
        }
        SecurityKey key = r.Alg == "ES256"
            ? new ECDsaSecurityKey(ImportEc(der)) { KeyId = r.Kid }
            : new RsaSecurityKey(ImportRsa(der)) { KeyId = r.Kid };
        var jwk = JsonSerializer.Deserialize<Dictionary<string, string>>(r.PublicJwk ?? "{}")!;
        return new SigningKey(r.Kid, r.Alg, key, jwk, r.CreatedAt, r.RetiredAt, r.VerifyUntil);
    }

    private static RSA ImportRsa(byte[] der) { var rsa = RSA.Create(); rsa.ImportPkcs8PrivateKey(der, out _); return rsa; }
    private static ECDsa ImportEc(byte[] der) { var ec = ECDsa.Create(); ec.ImportPkcs8PrivateKey(der, out _); return ec; }

    private const string RetireSql = """
        UPDATE signing_keys SET retired_at = now(), verify_until = now() + @Grace
        WHERE retired_at IS NULL
        """;
    private const string InsertSql = """
        INSERT INTO signing_keys (kid, alg, public_jwk, private_key_encrypted) VALUES (@Kid, @Alg, @PublicJwk, @Sealed)
        """;
    private const string ActiveAlgSql = "SELECT alg FROM signing_keys WHERE retired_at IS NULL FOR UPDATE";
    // Serializes key changes across nodes. Row locks alone cannot: with no active key there is no
    // row to lock, and a second node's retire would then retire the first node's brand-new key.
    private const string KeyChangeLockSql = "SELECT pg_advisory_xact_lock(hashtext('authly.signing_keys'))";

    /// <summary>Retires the active key (it keeps verifying until its tokens expire) and activates a new one.</summary>
    public async Task<SigningKey> RotateAsync(CancellationToken ct)
    {
        SigningKeyRules.CheckRotationAllowed(_options.SigningAlgorithm);
        await using (var conn = await _db.OpenAsync(ct))
            await RotateCoreAsync(conn, onlyIfNeeded: false, ct);
        _ring.Expire();
        await _bus.PublishAsync(Topic, "rotated");
        return (await RingAsync(ct)).Active;
    }

    private async Task RotateCoreAsync(NpgsqlConnection conn, bool onlyIfNeeded, CancellationToken ct)
    {
        var (kid, publicJwk, privateDer) = NewKeyMaterial(_options.SigningAlgorithm);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(KeyChangeLockSql, transaction: tx, cancellationToken: ct));
        var activeAlg = await conn.QuerySingleOrDefaultAsync<string>(new CommandDefinition(ActiveAlgSql, transaction: tx, cancellationToken: ct));
        if (onlyIfNeeded && activeAlg == _options.SigningAlgorithm) { await tx.RollbackAsync(ct); return; }
        await conn.ExecuteAsync(new CommandDefinition(RetireSql, new { Grace = RetiredKeyGrace }, tx, cancellationToken: ct));
        try
        {
            await conn.ExecuteAsync(new CommandDefinition(InsertSql, new
            {
                Kid = kid, Alg = _options.SigningAlgorithm, PublicJwk = JsonSerializer.Serialize(publicJwk), Sealed = _box.Seal(privateDer, kid),
            }, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && onlyIfNeeded)
        {
            // Another node created the first key at the same moment; use theirs.
        }
        finally { CryptographicOperations.ZeroMemory(privateDer); }
    }

    private static (string Kid, Dictionary<string, string> Jwk, byte[] PrivateDer) NewKeyMaterial(string alg)
    {
        var kid = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(12));
        if (alg == "ES256")
        {
            using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var p = ec.ExportParameters(false);
            return (kid, new Dictionary<string, string>
            {
                ["kty"] = "EC", ["use"] = "sig", ["alg"] = "ES256", ["kid"] = kid, ["crv"] = "P-256",
                ["x"] = Base64Url.EncodeToString(p.Q.X), ["y"] = Base64Url.EncodeToString(p.Q.Y),
            }, ec.ExportPkcs8PrivateKey());
        }
        using var rsa = RSA.Create(2048);
        var rp = rsa.ExportParameters(false);
        return (kid, new Dictionary<string, string>
        {
            ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = kid,
            ["n"] = Base64Url.EncodeToString(rp.Modulus), ["e"] = Base64Url.EncodeToString(rp.Exponent),
        }, rsa.ExportPkcs8PrivateKey());
    }

    /// <summary>RFC 7517 JWK set of every public key that can still verify a live token.</summary>
    public async Task<IReadOnlyList<IReadOnlyDictionary<string, string>>> JwksAsync(CancellationToken ct) =>
        (await RingAsync(ct)).All.Where(k => k.PublicJwk is not null).Select(k => k.PublicJwk!).ToList();
}
