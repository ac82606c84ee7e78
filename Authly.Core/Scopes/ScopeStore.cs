using Authly.Cluster;
using Authly.Configuration;
using Authly.Storage;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Authly.Scopes;

/// <summary>
/// Scopes, with the active set cached on every node and dropped on change. Announcements can be lost,
/// so the set is also re-read every <see cref="CacheFor"/> (one small query per node, made by one
/// request while the others keep the set); while PostgreSQL is unreachable the last good set is
/// served for at most AUTHLY_STALE_CACHE_SECONDS.
/// </summary>
public sealed class ScopeStore
{
    private const string Topic = "scopes";
    // Issue 12 finding 3: a deactivated scope must stop being granted on every node within seconds, bus or no bus.
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(2);
    private readonly NpgsqlDataSource _db;
    private readonly IClusterBus _bus;
    private readonly TimeProvider _clock;
    private readonly StaleServing _stale;
    private volatile ActiveSet? _active;
    // Bumped by every invalidation, so a reload that read the database before a change does not cache what it read.
    private long _generation;

    /// <summary>The active scopes until <see cref="Expires"/>; one request at a time refreshes them.</summary>
    private sealed class ActiveSet(IReadOnlyDictionary<string, Scope> byName, DateTimeOffset expires, DateTimeOffset confirmed)
    {
        private int _refreshing;
        public IReadOnlyDictionary<string, Scope> ByName { get; } = byName;
        public DateTimeOffset Expires { get; } = expires;
        /// <summary>When the database last gave this set: the bound for serving it during an outage.</summary>
        public DateTimeOffset Confirmed { get; } = confirmed;
        public bool TryClaimRefresh() => Interlocked.Exchange(ref _refreshing, 1) == 0;
        public void ReleaseRefresh() => Volatile.Write(ref _refreshing, 0);
    }

    public ScopeStore(NpgsqlDataSource db, IClusterBus bus, TimeProvider clock, AuthlyOptions options, ILogger<ScopeStore> log)
    {
        (_db, _bus, _clock) = (db, bus, clock);
        _stale = new StaleServing(log, "scopes", options.StaleCacheFor);
        bus.Subscribe(Topic, _ => Invalidate());
    }

    /// <summary>Drops this node's cached set at once (the bus is only a hint), then tells the others.</summary>
    private async Task ChangedAsync(string name)
    {
        Invalidate();
        await _bus.PublishAsync(Topic, name);
    }

    private void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        // Dropped, not kept for an outage: a set from before a change must never be served after it.
        _active = null;
    }

    private const string Columns = "id, scope_name, description, is_default, is_active, created_at, updated_at";

    private const string ActiveSql = $"SELECT {Columns} FROM scopes WHERE is_active";
    public async Task<IReadOnlyDictionary<string, Scope>> ActiveAsync(CancellationToken ct)
    {
        var cached = _active;
        var now = _clock.GetUtcNow();
        // An expired set is only unconfirmed: one request re-reads it while the others keep using it,
        // rather than all of them querying at once.
        if (cached is not null && (cached.Expires > now || !cached.TryClaimRefresh())) return cached.ByName;
        var generation = Interlocked.Read(ref _generation);
        try
        {
            await using var conn = await _db.OpenAsync(ct);
            var rows = await conn.QueryAsync<Scope>(new CommandDefinition(ActiveSql, cancellationToken: ct));
            _stale.Recovered();
            var set = new ActiveSet(rows.ToDictionary(s => s.ScopeName, StringComparer.Ordinal), now + CacheFor, now);
            if (Interlocked.Read(ref _generation) == generation) _active = set;
            else cached?.ReleaseRefresh();
            return set.ByName;
        }
        // Not when a change was announced while this read ran: the set read above is then from before it.
        catch (Exception e) when (cached is not null && Interlocked.Read(ref _generation) == generation && _stale.MayServe(e, cached.Confirmed, now))
        {
            // The last good set, with the database tried again by one request every few seconds.
            Interlocked.CompareExchange(ref _active, new ActiveSet(cached.ByName, now + StaleServing.RetryEvery, cached.Confirmed), cached);
            return cached.ByName;
        }
        catch { cached?.ReleaseRefresh(); throw; }
    }

    private const string ListSql = $"""
        SELECT {Columns} FROM scopes
        WHERE (@IncludeInactive OR is_active) AND (NOT @DefaultOnly OR is_default)
        ORDER BY scope_name LIMIT @Limit OFFSET @Offset
        """;
    public async Task<IReadOnlyList<Scope>> ListAsync(int limit, int offset, bool includeInactive, bool defaultOnly, CancellationToken ct)
    {
        await using var conn = await _db.OpenAsync(ct);
        return (await conn.QueryAsync<Scope>(new CommandDefinition(ListSql,
            new { Limit = limit, Offset = offset, IncludeInactive = includeInactive, DefaultOnly = defaultOnly }, cancellationToken: ct))).AsList();
    }

    private const string GetSql = $"SELECT {Columns} FROM scopes WHERE scope_name = @Name";
    public async Task<Scope?> GetAsync(string name, CancellationToken ct)
    {
        await using var conn = await _db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Scope>(new CommandDefinition(GetSql, new { Name = name }, cancellationToken: ct));
    }

    private const string InsertSql = $"""
        INSERT INTO scopes (scope_name, description, is_default, is_active)
        VALUES (@Name, @Description, @IsDefault, @IsActive)
        ON CONFLICT (scope_name) DO NOTHING
        RETURNING {Columns}
        """;
    /// <summary>Creates a scope; null when the name exists.</summary>
    public async Task<Scope?> CreateAsync(string name, string? description, bool isDefault, bool isActive, CancellationToken ct)
    {
        await using var conn = await _db.OpenAsync(ct);
        var scope = await conn.QuerySingleOrDefaultAsync<Scope>(new CommandDefinition(InsertSql,
            new { Name = name, Description = description, IsDefault = isDefault, IsActive = isActive }, cancellationToken: ct));
        if (scope is not null) await ChangedAsync(name);
        return scope;
    }

    private const string UpdateSql = $"""
        UPDATE scopes SET description = COALESCE(@Description, description),
                          is_default = COALESCE(@IsDefault, is_default),
                          is_active = COALESCE(@IsActive, is_active),
                          updated_at = now()
        WHERE scope_name = @Name
        RETURNING {Columns}
        """;
    public async Task<Scope?> UpdateAsync(string name, string? description, bool? isDefault, bool? isActive, CancellationToken ct)
    {
        await using var conn = await _db.OpenAsync(ct);
        var scope = await conn.QuerySingleOrDefaultAsync<Scope>(new CommandDefinition(UpdateSql,
            new { Name = name, Description = description, IsDefault = isDefault, IsActive = isActive }, cancellationToken: ct));
        if (scope is not null) await ChangedAsync(name);
        return scope;
    }

    private const string DeleteSql = "DELETE FROM scopes WHERE scope_name = @Name";
    public async Task<bool> DeleteAsync(string name, CancellationToken ct)
    {
        await using var conn = await _db.OpenAsync(ct);
        var n = await conn.ExecuteAsync(new CommandDefinition(DeleteSql, new { Name = name }, cancellationToken: ct));
        if (n > 0) await ChangedAsync(name);
        return n > 0;
    }
}
