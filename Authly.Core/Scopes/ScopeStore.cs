using Authly.Cluster;
using Dapper;
using Npgsql;

namespace Authly.Scopes;

/// <summary>Scopes, with the active set cached on every node and refreshed on change.</summary>
public sealed class ScopeStore
{
    private const string Topic = "scopes";
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(60);
    private readonly NpgsqlDataSource _db;
    private readonly IClusterBus _bus;
    private readonly TimeProvider _clock;
    private volatile ActiveSet? _active;
    // Bumped by every invalidation, so a reload that read the database before a change does not cache what it read.
    private long _generation;

    /// <summary>The active scopes until <see cref="Expires"/>; one request at a time refreshes them.</summary>
    private sealed class ActiveSet(IReadOnlyDictionary<string, Scope> byName, DateTimeOffset expires)
    {
        private int _refreshing;
        public IReadOnlyDictionary<string, Scope> ByName { get; } = byName;
        public DateTimeOffset Expires { get; } = expires;
        public bool TryClaimRefresh() => Interlocked.Exchange(ref _refreshing, 1) == 0;
        public void ReleaseRefresh() => Volatile.Write(ref _refreshing, 0);
    }

    public ScopeStore(NpgsqlDataSource db, IClusterBus bus, TimeProvider clock)
    {
        (_db, _bus, _clock) = (db, bus, clock);
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
        _active = null;
    }

    private const string Columns = "id, scope_name, description, is_default, is_active, created_at, updated_at";

    private const string ActiveSql = $"SELECT {Columns} FROM scopes WHERE is_active";
    public async Task<IReadOnlyDictionary<string, Scope>> ActiveAsync(CancellationToken ct)
    {
        var cached = _active;
        // A change clears the set on every node, so an expired set is only unconfirmed: one request
        // re-reads it while the others keep using it, rather than all of them querying at once.
        if (cached is not null && (cached.Expires > _clock.GetUtcNow() || !cached.TryClaimRefresh())) return cached.ByName;
        var generation = Interlocked.Read(ref _generation);
        try
        {
            await using var conn = await _db.OpenConnectionAsync(ct);
            var rows = await conn.QueryAsync<Scope>(new CommandDefinition(ActiveSql, cancellationToken: ct));
            var set = new ActiveSet(rows.ToDictionary(s => s.ScopeName, StringComparer.Ordinal), _clock.GetUtcNow() + CacheFor);
            if (Interlocked.Read(ref _generation) == generation) _active = set;
            else cached?.ReleaseRefresh();
            return set.ByName;
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
        await using var conn = await _db.OpenConnectionAsync(ct);
        return (await conn.QueryAsync<Scope>(new CommandDefinition(ListSql,
            new { Limit = limit, Offset = offset, IncludeInactive = includeInactive, DefaultOnly = defaultOnly }, cancellationToken: ct))).AsList();
    }

    private const string GetSql = $"SELECT {Columns} FROM scopes WHERE scope_name = @Name";
    public async Task<Scope?> GetAsync(string name, CancellationToken ct)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
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
        await using var conn = await _db.OpenConnectionAsync(ct);
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
        await using var conn = await _db.OpenConnectionAsync(ct);
        var scope = await conn.QuerySingleOrDefaultAsync<Scope>(new CommandDefinition(UpdateSql,
            new { Name = name, Description = description, IsDefault = isDefault, IsActive = isActive }, cancellationToken: ct));
        if (scope is not null) await ChangedAsync(name);
        return scope;
    }

    private const string DeleteSql = "DELETE FROM scopes WHERE scope_name = @Name";
    public async Task<bool> DeleteAsync(string name, CancellationToken ct)
    {
        await using var conn = await _db.OpenConnectionAsync(ct);
        var n = await conn.ExecuteAsync(new CommandDefinition(DeleteSql, new { Name = name }, cancellationToken: ct));
        if (n > 0) await ChangedAsync(name);
        return n > 0;
    }
}
