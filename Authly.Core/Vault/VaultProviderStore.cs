using Authly.Caching;
using Authly.Cluster;
using Authly.Configuration;
using Authly.Storage;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Authly.Vault;

/// <summary>
/// Upstream providers as rows; client secrets sealed under a per-row data key. Lookups are cached
/// per node for a short time (every mint needs one); changes are broadcast so all nodes drop them.
/// While PostgreSQL is unreachable a cached provider is served for at most AUTHLY_STALE_CACHE_SECONDS.
/// </summary>
public sealed class VaultProviderStore
{
    private const string Topic = "vault-providers";
    private const string SecretField = "client_secret";
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(30);
    private readonly NpgsqlDataSource _db;
    private readonly VaultCipher _cipher;
    private readonly IClusterBus _bus;
    // A provider by "n:" + name or "i:" + id, or null (no such provider).
    private readonly RefreshingCache<string, VaultProvider?> _cache;

    public VaultProviderStore(NpgsqlDataSource db, VaultCipher cipher, IClusterBus bus, TimeProvider clock, AuthlyOptions options, ILogger<VaultProviderStore> log)
        : this(db, cipher, bus, clock, log, options.StaleCacheFor) { }

    /// <summary>For one-shot commands (the CLI), which have no outage to ride out.</summary>
    public VaultProviderStore(NpgsqlDataSource db, VaultCipher cipher, IClusterBus bus, TimeProvider clock)
        : this(db, cipher, bus, clock, NullLogger.Instance, TimeSpan.Zero) { }

    private VaultProviderStore(NpgsqlDataSource db, VaultCipher cipher, IClusterBus bus, TimeProvider clock, ILogger log, TimeSpan staleFor)
    {
        (_db, _cipher, _bus) = (db, cipher, bus);
        // Names come from callers: unknown ones are cached too, so the cache is bounded.
        _cache = new RefreshingCache<string, VaultProvider?>("vault providers", clock, log, CacheFor, staleFor, FindUncachedAsync,
            StringComparer.Ordinal, maxEntries: 1000);
        // A change to one provider drops both of its keys (name and id): simplest to drop them all.
        bus.Subscribe(Topic, _ => _cache.InvalidateAll());
    }

    private async Task<VaultProvider?> FindUncachedAsync(string key, CancellationToken ct)
    {
        var (sql, args) = key.StartsWith("n:", StringComparison.Ordinal)
            ? (FindSql, (object)new { Name = key[2..] })
            : (GetSql, new { Id = Guid.Parse(key.AsSpan(2)) });
        await using var conn = await _db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<VaultProvider>(new CommandDefinition(sql, args, cancellationToken: ct));
    }

    private const string Columns = """
        id, name, display_name, kind, issuer, client_id, token_endpoint_auth_method, scopes, key_id, wrapped_key,
        client_secret_encrypted, is_active, created_at, updated_at
        """;

    private const string FindSql = $"SELECT {Columns} FROM vault_providers WHERE name = @Name";
    /// <summary>A provider by name (active or not), or null. Cached.</summary>
    public async Task<VaultProvider?> FindAsync(string name, CancellationToken ct)
    {
        if (name.Length > 63) return null;
        return await _cache.GetAsync("n:" + name, ct);
    }

    private const string GetSql = $"SELECT {Columns} FROM vault_providers WHERE id = @Id";
    public async Task<VaultProvider?> GetAsync(Guid id, CancellationToken ct) => await _cache.GetAsync("i:" + id, ct);

    private const string ListSql = $"SELECT {Columns} FROM vault_providers WHERE (@IncludeInactive OR is_active) ORDER BY name";
    public async Task<IReadOnlyList<VaultProvider>> ListAsync(bool includeInactive, CancellationToken ct)
    {
        await using var conn = await _db.OpenAsync(ct);
        return (await conn.QueryAsync<VaultProvider>(new CommandDefinition(ListSql, new { IncludeInactive = includeInactive }, cancellationToken: ct))).AsList();
    }

    private const string InsertSql = $"""
        INSERT INTO vault_providers (id, name, display_name, kind, issuer, client_id, token_endpoint_auth_method, scopes,
            key_id, wrapped_key, client_secret_encrypted)
        VALUES (@Id, @Name, @DisplayName, 'oidc', @Issuer, @ClientId, @AuthMethod, @Scopes, @KeyId, @WrappedKey, @Secret)
        ON CONFLICT (name) DO NOTHING
        RETURNING {Columns}
        """;

    /// <summary>Inserts a checked OIDC provider; null when the name is taken.</summary>
    public async Task<VaultProvider?> InsertAsync(string name, string displayName, string issuer, string clientId, string authMethod,
        string scopes, string? clientSecret, CancellationToken ct)
    {
        var id = Guid.NewGuid();
        var (keyId, wrapped, sealedSecret) = SealSecret(id, clientSecret);
        await using var conn = await _db.OpenAsync(ct);
        var row = await conn.QuerySingleOrDefaultAsync<VaultProvider>(new CommandDefinition(InsertSql, new
        {
            Id = id, Name = name, DisplayName = displayName, Issuer = issuer, ClientId = clientId, AuthMethod = authMethod,
            Scopes = scopes, KeyId = keyId, WrappedKey = wrapped, Secret = sealedSecret,
        }, cancellationToken: ct));
        await _bus.PublishAsync(Topic, name);
        return row;
    }

    private const string UpdateSql = $"""
        UPDATE vault_providers SET display_name = @DisplayName, issuer = @Issuer, client_id = @ClientId,
            token_endpoint_auth_method = @TokenEndpointAuthMethod, scopes = @Scopes, is_active = @IsActive, updated_at = now()
        WHERE id = @Id
        RETURNING {Columns}
        """;
    private const string UpdateSecretSql = """
        UPDATE vault_providers SET key_id = @KeyId, wrapped_key = @WrappedKey, client_secret_encrypted = @Secret, updated_at = now()
        WHERE id = @Id
        """;

    /// <summary>Saves the fields of <paramref name="merged"/>; a non-null <paramref name="newSecret"/> replaces the secret ("" removes it).</summary>
    public async Task<VaultProvider> UpdateAsync(VaultProvider merged, string? newSecret, CancellationToken ct)
    {
        await using var conn = await _db.OpenAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        if (newSecret is not null)
        {
            var (keyId, wrapped, sealedSecret) = SealSecret(merged.Id, newSecret.Length == 0 ? null : newSecret);
            await conn.ExecuteAsync(new CommandDefinition(UpdateSecretSql, new { merged.Id, KeyId = keyId, WrappedKey = wrapped, Secret = sealedSecret }, tx, cancellationToken: ct));
        }
        var row = await conn.QuerySingleAsync<VaultProvider>(new CommandDefinition(UpdateSql, new
        {
            merged.Id, merged.DisplayName, merged.Issuer, merged.ClientId, merged.TokenEndpointAuthMethod, merged.Scopes, merged.IsActive,
        }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
        await _bus.PublishAsync(Topic, merged.Name);
        return row;
    }

    // Two nodes may register the local client at once; the first to set it wins.
    private const string SetLocalClientSql = "UPDATE vault_providers SET client_id = @ClientId, updated_at = now() WHERE id = @Id AND client_id IS NULL";
    public async Task<bool> SetLocalClientAsync(Guid id, string clientId, CancellationToken ct)
    {
        await using var conn = await _db.OpenAsync(ct);
        var won = await conn.ExecuteAsync(new CommandDefinition(SetLocalClientSql, new { Id = id, ClientId = clientId }, cancellationToken: ct)) > 0;
        await _bus.PublishAsync(Topic, "local");
        _cache.InvalidateAll();
        return won;
    }

    /// <summary>The provider's client secret in clear, for a token request; null when it has none.</summary>
    public string? ClientSecret(VaultProvider p)
    {
        if (p.ClientSecretEncrypted is null || p.KeyId is null || p.WrappedKey is null) return null;
        using var key = _cipher.OpenDataKey(p.KeyId, p.WrappedKey, p.RowContext);
        return VaultCipher.Open(key, p.ClientSecretEncrypted, p.RowContext + "/" + SecretField);
    }

    private (string? KeyId, byte[]? Wrapped, byte[]? Sealed) SealSecret(Guid id, string? secret)
    {
        if (secret is null) return (null, null, null);
        var context = $"vault_providers/{id}";
        using var key = _cipher.NewDataKey(context);
        return (key.KeyId, key.Wrapped, VaultCipher.Seal(key, secret, context + "/" + SecretField));
    }

    private const string StaleSql = """
        SELECT id, key_id, wrapped_key FROM vault_providers
        WHERE key_id IS NOT NULL AND key_id <> @Current ORDER BY id LIMIT @Limit
        """;
    private const string RewrapSql = """
        UPDATE vault_providers SET key_id = @NewKeyId, wrapped_key = @NewWrapped
        WHERE id = @Id AND key_id = @OldKeyId AND wrapped_key = @OldWrapped
        """;

    /// <summary>Re-wraps the data keys of providers not yet on the current vault key; see <see cref="VaultKeyRotation"/>.</summary>
    public async Task<VaultKeyRotation.Counts> RewrapAsync(int batchSize, CancellationToken ct)
    {
        var counts = new VaultKeyRotation.Counts();
        await using var conn = await _db.OpenAsync(ct);
        var skip = new HashSet<Guid>();
        while (true)
        {
            var rows = (await conn.QueryAsync<(Guid Id, string KeyId, byte[] WrappedKey)>(new CommandDefinition(StaleSql,
                new { Current = _cipher.Keys.Current!.Id, Limit = batchSize + skip.Count }, cancellationToken: ct))).Where(r => !skip.Contains(r.Id)).ToList();
            if (rows.Count == 0) break;
            foreach (var (id, keyId, wrapped) in rows)
            {
                try
                {
                    var next = _cipher.Rewrap(keyId, wrapped, $"vault_providers/{id}");
                    if (next is null) continue;
                    var n = await conn.ExecuteAsync(new CommandDefinition(RewrapSql, new
                    {
                        Id = id, NewKeyId = next.Value.KeyId, NewWrapped = next.Value.Wrapped, OldKeyId = keyId, OldWrapped = wrapped,
                    }, cancellationToken: ct));
                    if (n > 0) counts.Rewrapped++;
                }
                catch (AuthlyException)
                {
                    counts.Unreadable++;
                    counts.UnknownKeys.Add(keyId);
                    skip.Add(id);
                }
            }
        }
        await _bus.PublishAsync(Topic, "rotated");
        _cache.InvalidateAll();
        return counts;
    }
}
