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
    /// that says it. It is shorter than <see cref="AnnouncePeriod"/>, so a scheduled key is in every
    /// verifier's copy before it signs; a manual rotation (which signs at once) is the one case where a
    /// verifier that does not re-fetch on an unknown kid rejects new tokens, for at most this long.
    /// </summary>
    public static readonly TimeSpan JwksMaxAge = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a scheduled key is published before it signs. It covers the JWKS max-age clients are told
    /// (<see cref="JwksMaxAge"/>), plus the time a node may take to see the new row when a cluster-bus
    /// announcement is lost (the ring is re-read every <see cref="CacheFor"/>), with room to spare: every node
    /// knows the stored switch instant before it comes, and every verifier has the key before it sees a token.
    /// </summary>
    public static readonly TimeSpan AnnouncePeriod = TimeSpan.FromMinutes(15);

    /// <summary>The key that signs, and every key that still verifies or will sign (pending). The same instance until the ring is re-read.</summary>
    public sealed record KeyRing(SigningKey Active, IReadOnlyList<SigningKey> All)
    {
        /// <summary>The key published to sign from its stored <see cref="SigningKey.ActivatesAt"/>, when one is scheduled.</summary>
        public SigningKey? Pending { get; init; }

        /// <summary>RFC 7517 §5 JWK set of the ring's public keys (pending ones included), serialized and tagged once per ring.</summary>
        public PublishedDocument Jwks { get; } =
            PublishedDocument.Of(new { keys = All.Where(k => k.PublicJwk is not null).Select(k => k.PublicJwk!).ToList() }, JwksMaxAge);

        private KeyRing? _switched;

        /// <summary>
        /// The ring as it stands at <paramref name="now"/>: from the pending key's stored activation instant on, that
        /// key signs. Each node decides by its own clock against the same stored instant, never by a timer of its own.
        /// </summary>
        public KeyRing At(DateTimeOffset now) =>
            Pending is { } next && next.ActivatesAt <= now.UtcDateTime
                ? _switched ??= new KeyRing(next, All)
                : this;
    }

    public SigningKeyStore(NpgsqlDataSource db, IClusterBus bus, TimeProvider clock, AuthlyOptions options, ILogger<SigningKeyStore> log)
    {
        (_db, _bus, _clock, _options) = (db, bus, clock, options);
        _box = new SecretBox(options.JwtSecretKey, "authly-signing-keys");
        _ring = new RefreshingValue<KeyRing>("signing keys", clock, log, CacheFor, options.StaleCacheFor, LoadAsync);
        bus.Subscribe(Topic, _ => _ring.Expire());
    }

    /// <summary>
    /// How long a retired key must still verify: the longest life of anything it signed (access and ID tokens both
    /// live ACCESS_TOKEN_EXPIRE_MINUTES, <see cref="Oidc.IdTokenIssuer"/>), plus <see cref="RetiredKeySkew"/>.
    /// </summary>
    public TimeSpan RetiredKeyGrace => _options.AccessTokenLifetime + RetiredKeySkew;

    /// <summary>Room for a verifier whose clock runs behind ours.</summary>
    public static readonly TimeSpan RetiredKeySkew = TimeSpan.FromMinutes(5);

    private KeyRing? _lastRing;

    /// <summary>The ring this node signs with now: the cached rows, switched to a pending key once its stored instant has come.</summary>
    public async ValueTask<KeyRing> RingAsync(CancellationToken ct)
    {
        var ring = (await _ring.GetAsync(ct)).At(_clock.GetUtcNow());
        _lastRing = ring;
        return ring;
    }

    /// <summary>The ring last handed out on this node, without a database read (for gauges); null before the first.</summary>
    public KeyRing? LastRing => _lastRing?.At(_clock.GetUtcNow());

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

    private sealed record Row(string Kid, string Alg, string? PublicJwk, byte[]? PrivateKeyEncrypted, DateTime CreatedAt, DateTime? RetiredAt,
        DateTime? VerifyUntil, DateTime ActivatesAt);

    // Times of the key lifecycle are read on this node's clock (the one that picks the signing key), not the database's.
    private const string LoadSql = """
        SELECT kid, alg, public_jwk, private_key_encrypted, created_at, retired_at, verify_until, activates_at
        FROM signing_keys
        WHERE retired_at IS NULL OR verify_until > @Now
        ORDER BY activates_at DESC, created_at DESC
        """;

    private async Task<KeyRing> LoadAsync(CancellationToken ct)
    {
        if (_options.SigningAlgorithm == "HS256")
        {
            // Compatibility mode: one shared secret, nothing published in the JWKS.
            var hs = new SigningKey("hs256", "HS256", new SymmetricSecurityKey(Encoding.UTF8.GetBytes(_options.JwtSecretKey)) { KeyId = "hs256" },
                null, DateTime.UnixEpoch, null, null, DateTime.UnixEpoch);
            return new KeyRing(hs, [hs]);
        }
        for (var attempt = 0; ; attempt++)
        {
            await using var conn = await _db.OpenAsync(ct);
            var now = _clock.GetUtcNow();
            var rows = (await conn.QueryAsync<Row>(new CommandDefinition(LoadSql, new { Now = now }, cancellationToken: ct))).AsList();
            var newest = rows.FirstOrDefault(r => r.RetiredAt is null);
            if (newest is not null && newest.Alg == _options.SigningAlgorithm)
            {
                var keys = rows.Select(ToKey).ToList();
                var pending = keys.FirstOrDefault(k => k.StateAt(now) == SigningKey.Pending);
                // The key signing now; a ring whose only unretired key is pending (its predecessor's row gone) signs with it at once.
                var active = keys.Where(k => k.SignsAt(now)).OrderByDescending(k => k.ActivatesAt).FirstOrDefault() ?? pending!;
                return new KeyRing(active, keys) { Pending = ReferenceEquals(active, pending) ? null : pending };
            }
            if (attempt > 2) throw new InvalidOperationException("Could not establish an active signing key.");
            // No key yet, or the configured algorithm changed: rotate to a new one that signs at once.
            // The unique index on the unretired key makes concurrent first starts safe: one wins.
            await RotateNowAsync(conn, onlyIfNeeded: true, ct);
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
        return new SigningKey(r.Kid, r.Alg, key, jwk, r.CreatedAt, r.RetiredAt, r.VerifyUntil, r.ActivatesAt);
    }

    private static RSA ImportRsa(byte[] der) { var rsa = RSA.Create(); rsa.ImportPkcs8PrivateKey(der, out _); return rsa; }
    private static ECDsa ImportEc(byte[] der) { var ec = ECDsa.Create(); ec.ImportPkcs8PrivateKey(der, out _); return ec; }

    // Every key still signing or due to sign stops now. A pending key never signed anything, so it leaves the JWKS at once;
    // the signing one verifies for the grace.
    private const string RetireNowSql = """
        UPDATE signing_keys
        SET retired_at = @Now, verify_until = CASE WHEN activates_at > @Now THEN @Now ELSE @Now + @Grace END
        WHERE retired_at IS NULL OR retired_at > @Now
        """;
    private const string InsertSql = """
        INSERT INTO signing_keys (kid, alg, public_jwk, private_key_encrypted, activates_at) VALUES (@Kid, @Alg, @PublicJwk, @Sealed, @ActivatesAt)
        """;
    private const string ActiveAlgSql = "SELECT alg FROM signing_keys WHERE retired_at IS NULL FOR UPDATE";
    // Serializes key changes across nodes. Row locks alone cannot: with no active key there is no
    // row to lock, and a second node's retire would then retire the first node's brand-new key.
    private const string KeyChangeLockSql = "SELECT pg_advisory_xact_lock(hashtext('authly.signing_keys'))";
    private const string TryKeyChangeLockSql = "SELECT pg_try_advisory_xact_lock(hashtext('authly.signing_keys'))";

    /// <summary>
    /// Manual rotation: the new key signs at once and the old one keeps verifying until its tokens expire.
    /// It does not wait for the announce period, because it is the answer to a key that may have leaked: the
    /// suspect key must stop signing now. A verifier that cached the JWKS and does not re-fetch on an unknown
    /// kid rejects new tokens for up to <see cref="JwksMaxAge"/>. A scheduled (pending) key is dropped with it.
    /// </summary>
    public async Task<SigningKey> RotateAsync(CancellationToken ct)
    {
        SigningKeyRules.CheckRotationAllowed(_options.SigningAlgorithm);
        await using (var conn = await _db.OpenAsync(ct))
            await RotateNowAsync(conn, onlyIfNeeded: false, ct);
        await AnnounceAsync();
        return (await RingAsync(ct)).Active;
    }

    private async Task AnnounceAsync()
    {
        _ring.Expire();
        await _bus.PublishAsync(Topic, "rotated");
    }

    private async Task RotateNowAsync(NpgsqlConnection conn, bool onlyIfNeeded, CancellationToken ct)
    {
        var (kid, publicJwk, privateDer) = NewKeyMaterial(_options.SigningAlgorithm);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(KeyChangeLockSql, transaction: tx, cancellationToken: ct));
        var activeAlg = await conn.QuerySingleOrDefaultAsync<string>(new CommandDefinition(ActiveAlgSql, transaction: tx, cancellationToken: ct));
        if (onlyIfNeeded && activeAlg == _options.SigningAlgorithm) { await tx.RollbackAsync(ct); return; }
        var now = _clock.GetUtcNow();
        await conn.ExecuteAsync(new CommandDefinition(RetireNowSql, new { Now = now, Grace = RetiredKeyGrace }, tx, cancellationToken: ct));
        try
        {
            await InsertAsync(conn, tx, kid, publicJwk, privateDer, activatesAt: now, ct);
            await tx.CommitAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && onlyIfNeeded)
        {
            // Another node created the first key at the same moment; use theirs.
        }
        finally { CryptographicOperations.ZeroMemory(privateDer); }
    }

    private Task InsertAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string kid, Dictionary<string, string> publicJwk, byte[] privateDer,
        DateTimeOffset activatesAt, CancellationToken ct) =>
        conn.ExecuteAsync(new CommandDefinition(InsertSql, new
        {
            Kid = kid, Alg = _options.SigningAlgorithm, PublicJwk = JsonSerializer.Serialize(publicJwk), Sealed = _box.Seal(privateDer, kid),
            ActivatesAt = activatesAt,
        }, tx, cancellationToken: ct));

    /// <summary>What a scheduled rotation round did.</summary>
    public enum RoundOutcome { Off, Busy, NotDue, Scheduled }

    private sealed record NewestRow(string Kid, DateTime ActivatesAt);
    private const string NewestSql = "SELECT kid, activates_at FROM signing_keys WHERE retired_at IS NULL FOR UPDATE";
    private const string ScheduleRetireSql = """
        UPDATE signing_keys SET retired_at = @ActivatesAt, verify_until = @ActivatesAt + @Grace WHERE kid = @Kid AND retired_at IS NULL
        """;
    // A key whose last token has expired is no longer in any ring (LoadSql); its row goes too.
    private const string DeleteExpiredSql = "DELETE FROM signing_keys WHERE verify_until <= @Now";

    /// <summary>
    /// One round of automatic rotation (<see cref="SigningKeyRotation"/> runs it on every node; the first to take the
    /// key-change lock does the work, the others return <see cref="RoundOutcome.Busy"/>). When the signing key has
    /// signed for nearly AUTHLY_KEY_ROTATION_DAYS, a new key is stored to activate at
    /// max(now + <see cref="AnnouncePeriod"/>, old activation + period), and the old key's retirement at that same
    /// instant; keys past <c>verify_until</c> are deleted. All in one transaction, then announced on the cluster bus.
    /// </summary>
    public async Task<RoundOutcome> RotateIfDueAsync(CancellationToken ct)
    {
        if (_options.SigningAlgorithm == "HS256" || _options.KeyRotationDays == 0) return RoundOutcome.Off;
        await RingAsync(ct); // a fresh database gets its first key first
        var (kid, publicJwk, privateDer) = (default(string)!, default(Dictionary<string, string>)!, Array.Empty<byte>());
        try
        {
            await using var conn = await _db.OpenAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(ct);
            if (!await conn.ExecuteScalarAsync<bool>(new CommandDefinition(TryKeyChangeLockSql, transaction: tx, cancellationToken: ct)))
                return RoundOutcome.Busy;
            var now = _clock.GetUtcNow();
            await conn.ExecuteAsync(new CommandDefinition(DeleteExpiredSql, new { Now = now }, tx, cancellationToken: ct));
            var newest = await conn.QuerySingleOrDefaultAsync<NewestRow>(new CommandDefinition(NewestSql, transaction: tx, cancellationToken: ct));
            var outcome = RoundOutcome.NotDue;
            if (newest is not null && NextRotation(newest.ActivatesAt) is var due && due - AnnouncePeriod <= now.UtcDateTime && newest.ActivatesAt <= now.UtcDateTime)
            {
                var activatesAt = new DateTimeOffset(due > (now + AnnouncePeriod).UtcDateTime ? due : (now + AnnouncePeriod).UtcDateTime, TimeSpan.Zero);
                (kid, publicJwk, privateDer) = NewKeyMaterial(_options.SigningAlgorithm);
                await conn.ExecuteAsync(new CommandDefinition(ScheduleRetireSql, new { newest.Kid, ActivatesAt = activatesAt, Grace = RetiredKeyGrace }, tx, cancellationToken: ct));
                await InsertAsync(conn, tx, kid, publicJwk, privateDer, activatesAt, ct);
                outcome = RoundOutcome.Scheduled;
            }
            await tx.CommitAsync(ct);
            if (outcome == RoundOutcome.Scheduled) await AnnounceAsync();
            return outcome;
        }
        finally { CryptographicOperations.ZeroMemory(privateDer); }
    }

    private DateTime NextRotation(DateTime activatedAt) => activatedAt + _options.KeyRotationPeriod;

    /// <summary>The rotation schedule as the admin API shows it.</summary>
    public sealed record Schedule(bool Automatic, int RotationDays, TimeSpan AnnouncePeriod, DateTime? NextRotationAt, IReadOnlyList<SigningKey> Keys, DateTimeOffset Now);

    /// <summary>
    /// When the next key takes over: the pending key's stored instant when one is published, else when the signing key
    /// will have signed AUTHLY_KEY_ROTATION_DAYS (null with automatic rotation off or in HS256 mode).
    /// </summary>
    public async Task<Schedule> ScheduleAsync(CancellationToken ct)
    {
        _ring.Expire(); // the admin asks for the stored state, not this node's cached copy
        var ring = await RingAsync(ct);
        var automatic = _options.SigningAlgorithm != "HS256" && _options.KeyRotationDays > 0;
        DateTime? next = ring.Pending?.ActivatesAt ?? (automatic ? NextRotation(ring.Active.ActivatesAt) : null);
        return new Schedule(automatic, automatic ? _options.KeyRotationDays : 0, AnnouncePeriod, next, ring.All, _clock.GetUtcNow());
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
