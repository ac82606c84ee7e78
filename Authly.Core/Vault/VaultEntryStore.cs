using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Vault;

/// <summary>
/// Vault entries: one row per (user, provider, purpose), its refresh token and cached access
/// token sealed under the row's data key. Every change to a live entry's secrets happens with
/// the row locked (SELECT … FOR UPDATE), so two callers — on one node or several — never use the
/// same refresh token twice.
/// </summary>
public sealed class VaultEntryStore(NpgsqlDataSource db, VaultCipher cipher)
{
    private const string RefreshField = "/refresh_token";
    private const string AccessField = "/access_token";
    /// <summary>How long a caller waits for another caller's upstream refresh of the same entry.</summary>
    private const string LockTimeoutSql = "SET LOCAL lock_timeout = '20s'";

    private const string Columns = """
        e.id, e.user_id, e.provider_id, p.name AS provider_name, e.purpose, e.token_type, e.subject, e.scope, e.status,
        e.key_id, e.wrapped_key, e.refresh_token_encrypted, e.access_token_encrypted, e.access_token_expires_at,
        e.access_token_request, e.created_by, e.created_at, e.updated_at, e.last_refreshed_at, e.last_used_at, e.revoked_at,
        ARRAY(SELECT g.client_id FROM vault_entry_grants g WHERE g.entry_id = e.id ORDER BY g.client_id) AS grants
        """;

    private const string GetSql = $"SELECT {Columns} FROM vault_entries e JOIN vault_providers p ON p.id = e.provider_id WHERE e.id = @Id";
    public async Task<VaultEntry?> GetAsync(Guid id, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<VaultEntry>(new CommandDefinition(GetSql, new { Id = id }, cancellationToken: ct));
    }

    private const string ListSql = $"""
        SELECT {Columns} FROM vault_entries e JOIN vault_providers p ON p.id = e.provider_id
        WHERE (@UserId::uuid IS NULL OR e.user_id = @UserId)
          AND (@ClientId::text IS NULL OR EXISTS (SELECT 1 FROM vault_entry_grants g WHERE g.entry_id = e.id AND g.client_id = @ClientId))
          AND (@Provider::text IS NULL OR p.name = @Provider)
          AND (@Purpose::text IS NULL OR e.purpose = @Purpose)
          AND (@IncludeRevoked OR e.status <> 'revoked')
        ORDER BY e.created_at, e.id
        LIMIT @Limit OFFSET @Offset
        """;

    /// <summary>Entries of one user, granted to one client, or both (a user's entries granted to the client they call through).</summary>
    public async Task<IReadOnlyList<VaultEntry>> ListAsync(Guid? userId, string? clientId, string? provider, string? purpose, bool includeRevoked,
        int limit, int offset, CancellationToken ct)
    {
        if (userId is null && clientId is null) throw new ArgumentException("list by user or by client");
        await using var conn = await db.OpenAsync(ct);
        return (await conn.QueryAsync<VaultEntry>(new CommandDefinition(ListSql, new
        {
            UserId = userId, ClientId = clientId, Provider = provider, Purpose = purpose, IncludeRevoked = includeRevoked, Limit = limit, Offset = offset,
        }, cancellationToken: ct))).AsList();
    }

    /// <summary>What to store: the token and what is known about it.</summary>
    public sealed record NewToken(Guid UserId, VaultProvider Provider, string Purpose, string TokenType, string RefreshToken, string Scope,
        string? Subject, string CreatedBy, IReadOnlyCollection<string> GrantTo);

    /// <summary>The stored entry, and the refresh token it replaced (to be revoked upstream), if any.</summary>
    public sealed record Stored(VaultEntry Entry, bool Replaced, string? ReplacedToken);

    private const string FindLiveForUpdateSql = $"""
        SELECT {Columns} FROM vault_entries e JOIN vault_providers p ON p.id = e.provider_id
        WHERE e.user_id = @UserId AND e.provider_id = @ProviderId AND e.purpose = @Purpose AND e.status <> 'revoked'
        FOR UPDATE OF e
        """;
    private const string InsertSql = """
        INSERT INTO vault_entries (id, user_id, provider_id, purpose, token_type, subject, scope, key_id, wrapped_key,
            refresh_token_encrypted, created_by)
        VALUES (@Id, @UserId, @ProviderId, @Purpose, @TokenType, @Subject, @Scope, @KeyId, @WrappedKey, @Refresh, @CreatedBy)
        ON CONFLICT (user_id, provider_id, purpose) WHERE status <> 'revoked' DO NOTHING
        """;
    // A replaced token gets a new data key: nothing sealed for the old token opens with the new one.
    private const string ReplaceSql = """
        UPDATE vault_entries SET token_type = @TokenType, subject = COALESCE(@Subject, subject), scope = @Scope, status = 'active',
            key_id = @KeyId, wrapped_key = @WrappedKey, refresh_token_encrypted = @Refresh,
            access_token_encrypted = NULL, access_token_expires_at = NULL, access_token_request = NULL, updated_at = now()
        WHERE id = @Id
        """;
    private const string GrantSql = """
        INSERT INTO vault_entry_grants (entry_id, client_id, created_by) VALUES (@EntryId, @ClientId, @CreatedBy)
        ON CONFLICT DO NOTHING
        """;

    /// <summary>
    /// Stores a token for (user, provider, purpose): a new entry, or the live entry's token replaced
    /// when <paramref name="mayReplace"/> allows it (otherwise 409).
    /// </summary>
    public async Task<Stored> StoreAsync(NewToken t, Func<VaultEntry, bool> mayReplace, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            await using var conn = await db.OpenAsync(ct);
            await using var tx = await conn.BeginTransactionAsync(ct);
            var existing = await conn.QuerySingleOrDefaultAsync<VaultEntry>(new CommandDefinition(FindLiveForUpdateSql,
                new { t.UserId, ProviderId = t.Provider.Id, t.Purpose }, tx, cancellationToken: ct));
            Guid id;
            string? replacedToken = null;
            if (existing is null)
            {
                id = Guid.NewGuid();
                using var key = cipher.NewDataKey(VaultEntry.RowContextOf(id, t.UserId, t.Provider.Id));
                var inserted = await conn.ExecuteAsync(new CommandDefinition(InsertSql, new
                {
                    Id = id, t.UserId, ProviderId = t.Provider.Id, t.Purpose, t.TokenType, t.Subject, t.Scope, key.KeyId, WrappedKey = key.Wrapped,
                    Refresh = VaultCipher.Seal(key, t.RefreshToken, VaultEntry.RowContextOf(id, t.UserId, t.Provider.Id) + RefreshField),
                    t.CreatedBy,
                }, tx, cancellationToken: ct));
                // Someone stored the same (user, provider, purpose) between our SELECT and INSERT: go again, as a replacement.
                if (inserted == 0 && attempt == 0) continue;
                if (inserted == 0) throw VaultErrors.Conflict("The entry is being changed by another request; try again", "ENTRY_BUSY");
            }
            else
            {
                if (!mayReplace(existing))
                    throw VaultErrors.Conflict($"An entry for this user, provider and purpose exists and is not granted to you", "ENTRY_EXISTS");
                id = existing.Id;
                try { replacedToken = RefreshToken(existing); }
                catch (AuthlyException) { replacedToken = null; } // unreadable: nothing to revoke upstream
                using var key = cipher.NewDataKey(existing.RowContext);
                await conn.ExecuteAsync(new CommandDefinition(ReplaceSql, new
                {
                    Id = id, t.TokenType, t.Subject, t.Scope, key.KeyId, WrappedKey = key.Wrapped,
                    Refresh = VaultCipher.Seal(key, t.RefreshToken, existing.RowContext + RefreshField),
                }, tx, cancellationToken: ct));
            }
            foreach (var clientId in t.GrantTo)
                await conn.ExecuteAsync(new CommandDefinition(GrantSql, new { EntryId = id, ClientId = clientId, t.CreatedBy }, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            return new Stored((await GetAsync(id, ct))!, existing is not null, replacedToken);
        }
    }

    /// <summary>The entry's refresh token in clear. Throws <see cref="AuthlyException"/> (VAULT_ENTRY_UNREADABLE) for a row that does not decrypt.</summary>
    public string RefreshToken(VaultEntry e)
    {
        if (e.RefreshTokenEncrypted is null || e.KeyId is null || e.WrappedKey is null) throw VaultErrors.Unreadable("entry has no sealed token");
        using var key = cipher.OpenDataKey(e.KeyId, e.WrappedKey, e.RowContext);
        return VaultCipher.Open(key, e.RefreshTokenEncrypted, e.RowContext + RefreshField);
    }

    /// <summary>The cached access token in clear, or null when none is cached.</summary>
    public string? CachedAccessToken(VaultEntry e)
    {
        if (e.AccessTokenEncrypted is null || e.KeyId is null || e.WrappedKey is null) return null;
        using var key = cipher.OpenDataKey(e.KeyId, e.WrappedKey, e.RowContext);
        return VaultCipher.Open(key, e.AccessTokenEncrypted, e.RowContext + AccessField);
    }

    /// <summary>What a locked update changes. Null fields stay as they are.</summary>
    public sealed record Change
    {
        public string? RefreshToken { get; init; }
        public string? AccessToken { get; init; }
        public DateTime? AccessTokenExpiresAt { get; init; }
        public string? AccessTokenRequest { get; init; }
        public string? Scope { get; init; }
        public bool Refreshed { get; init; }
        /// <summary>'invalid_grant' drops the cached access token; 'revoked' drops every secret.</summary>
        public string? Status { get; init; }
    }

    private const string LockSql = $"""
        SELECT {Columns} FROM vault_entries e JOIN vault_providers p ON p.id = e.provider_id WHERE e.id = @Id FOR UPDATE OF e
        """;
    private const string SaveSql = """
        UPDATE vault_entries SET
            refresh_token_encrypted = COALESCE(@Refresh, refresh_token_encrypted),
            access_token_encrypted = COALESCE(@Access, access_token_encrypted),
            access_token_expires_at = CASE WHEN @Access::bytea IS NULL THEN access_token_expires_at ELSE @AccessExpires END,
            access_token_request = CASE WHEN @Access::bytea IS NULL THEN access_token_request ELSE @AccessRequest END,
            scope = COALESCE(@Scope, scope),
            last_refreshed_at = CASE WHEN @Refreshed THEN now() ELSE last_refreshed_at END,
            last_used_at = now(), updated_at = now()
        WHERE id = @Id
        """;
    private const string InvalidateSql = """
        UPDATE vault_entries SET status = 'invalid_grant', access_token_encrypted = NULL, access_token_expires_at = NULL,
            access_token_request = NULL, updated_at = now()
        WHERE id = @Id
        """;
    private const string RevokeSql = """
        UPDATE vault_entries SET status = 'revoked', revoked_at = now(), refresh_token_encrypted = NULL, access_token_encrypted = NULL,
            access_token_expires_at = NULL, access_token_request = NULL, key_id = NULL, wrapped_key = NULL, updated_at = now()
        WHERE id = @Id
        """;

    /// <summary>
    /// Runs <paramref name="work"/> with the entry's row locked, applies the change it returns and
    /// commits. Other callers of the same entry wait meanwhile (up to 20 s, then ENTRY_BUSY), and
    /// then see the change: this is what makes upstream refresh-token rotation safe.
    /// </summary>
    public async Task<T> UpdateLockedAsync<T>(Guid id, Func<VaultEntry, Task<(Change? Change, T Result)>> work, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(LockTimeoutSql, transaction: tx, cancellationToken: ct));
        VaultEntry? entry;
        try
        {
            entry = await conn.QuerySingleOrDefaultAsync<VaultEntry>(new CommandDefinition(LockSql, new { Id = id }, tx, cancellationToken: ct));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
        {
            throw new AuthlyException(503, "The entry is busy (another request is refreshing it); try again", "ENTRY_BUSY");
        }
        if (entry is null) throw VaultErrors.NotFound("Vault entry");
        var (change, result) = await work(entry);
        if (change is not null)
        {
            if (change.Status == VaultEntry.Revoked)
                await conn.ExecuteAsync(new CommandDefinition(RevokeSql, new { Id = id }, tx, cancellationToken: ct));
            else if (change.Status == VaultEntry.InvalidGrant)
                await conn.ExecuteAsync(new CommandDefinition(InvalidateSql, new { Id = id }, tx, cancellationToken: ct));
            else
            {
                using var key = cipher.OpenDataKey(entry.KeyId!, entry.WrappedKey!, entry.RowContext);
                await conn.ExecuteAsync(new CommandDefinition(SaveSql, new
                {
                    Id = id,
                    Refresh = change.RefreshToken is null ? null : VaultCipher.Seal(key, change.RefreshToken, entry.RowContext + RefreshField),
                    Access = change.AccessToken is null ? null : VaultCipher.Seal(key, change.AccessToken, entry.RowContext + AccessField),
                    AccessExpires = change.AccessTokenExpiresAt,
                    AccessRequest = change.AccessTokenRequest,
                    change.Scope,
                    change.Refreshed,
                }, tx, cancellationToken: ct));
            }
        }
        await tx.CommitAsync(ct);
        return result;
    }

    private const string TouchSql = "UPDATE vault_entries SET last_used_at = now() WHERE id = @Id";
    public async Task TouchAsync(Guid id, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(TouchSql, new { Id = id }, cancellationToken: ct));
    }

    public async Task AddGrantAsync(Guid entryId, string clientId, string createdBy, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(GrantSql, new { EntryId = entryId, ClientId = clientId, CreatedBy = createdBy }, cancellationToken: ct));
    }

    private const string UngrantSql = "DELETE FROM vault_entry_grants WHERE entry_id = @EntryId AND client_id = @ClientId";
    public async Task<bool> RemoveGrantAsync(Guid entryId, string clientId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(UngrantSql, new { EntryId = entryId, ClientId = clientId }, cancellationToken: ct)) > 0;
    }

    private const string CountByKeySql = "SELECT key_id, count(*) FROM vault_entries WHERE key_id IS NOT NULL GROUP BY key_id ORDER BY key_id";
    /// <summary>How many live entries each vault key wraps: after a rotation only the current key should be left.</summary>
    public async Task<IReadOnlyDictionary<string, long>> CountByKeyAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await conn.QueryAsync<(string KeyId, long Count)>(new CommandDefinition(CountByKeySql, cancellationToken: ct)))
            .ToDictionary(r => r.KeyId, r => r.Count, StringComparer.Ordinal);
    }

    private const string StaleSql = """
        SELECT id, user_id, provider_id, key_id, wrapped_key FROM vault_entries
        WHERE key_id IS NOT NULL AND key_id <> @Current ORDER BY id LIMIT @Limit
        """;
    // Compare-and-set: a row that changed meanwhile (a replaced token has a new data key) is left for the next pass.
    private const string RewrapSql = """
        UPDATE vault_entries SET key_id = @NewKeyId, wrapped_key = @NewWrapped
        WHERE id = @Id AND key_id = @OldKeyId AND wrapped_key = @OldWrapped
        """;

    /// <summary>Re-wraps the data keys of entries not yet on the current vault key, in batches.</summary>
    public async Task<VaultKeyRotation.Counts> RewrapAsync(int batchSize, CancellationToken ct)
    {
        var counts = new VaultKeyRotation.Counts();
        var skip = new HashSet<Guid>();
        await using var conn = await db.OpenAsync(ct);
        while (true)
        {
            var rows = (await conn.QueryAsync<(Guid Id, Guid UserId, Guid ProviderId, string KeyId, byte[] WrappedKey)>(new CommandDefinition(StaleSql,
                    new { Current = cipher.Keys.Current!.Id, Limit = batchSize + skip.Count }, cancellationToken: ct)))
                .Where(r => !skip.Contains(r.Id)).ToList();
            if (rows.Count == 0) break;
            foreach (var r in rows)
            {
                try
                {
                    var next = cipher.Rewrap(r.KeyId, r.WrappedKey, VaultEntry.RowContextOf(r.Id, r.UserId, r.ProviderId));
                    if (next is null) continue;
                    if (await conn.ExecuteAsync(new CommandDefinition(RewrapSql, new
                        {
                            r.Id, NewKeyId = next.Value.KeyId, NewWrapped = next.Value.Wrapped, OldKeyId = r.KeyId, OldWrapped = r.WrappedKey,
                        }, cancellationToken: ct)) > 0)
                        counts.Rewrapped++;
                }
                catch (AuthlyException)
                {
                    counts.Unreadable++;
                    counts.UnknownKeys.Add(r.KeyId);
                    skip.Add(r.Id);
                }
            }
        }
        return counts;
    }
}
