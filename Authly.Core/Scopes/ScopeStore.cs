using Authly.Caching;
using Authly.Cluster;
using Authly.Configuration;
using Authly.Storage;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Authly.Scopes;

/// <summary>
/// Scopes, with the active set cached on every node (<see cref="RefreshingValue{TValue}"/>) and dropped
/// on change. Announcements can be lost, so the set is also re-read every <see cref="CacheFor"/> (one
/// small query per node, made by one request while the others keep the set); while PostgreSQL is
/// unreachable the last good set is served for at most AUTHLY_STALE_CACHE_SECONDS.
/// </summary>
public sealed class ScopeStore
{
    private const string Topic = "scopes";
    // Issue 12 finding 3: a deactivated scope must stop being granted on every node within seconds, bus or no bus.
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(2);
    private readonly NpgsqlDataSource _db;
    private readonly IClusterBus _bus;
    private readonly RefreshingValue<IReadOnlyDictionary<string, Scope>> _active;

    public ScopeStore(NpgsqlDataSource db, IClusterBus bus, TimeProvider clock, AuthlyOptions options, ILogger<ScopeStore> log)
    {
        (_db, _bus) = (db, bus);
        _active = new RefreshingValue<IReadOnlyDictionary<string, Scope>>("scopes", clock, log, CacheFor, options.StaleCacheFor, ActiveUncachedAsync);
        // Dropped, not kept for an outage: a set from before a change must never be served after it.
        bus.Subscribe(Topic, _ => _active.Invalidate());
    }

    /// <summary>Drops this node's cached set at once (the bus is only a hint), then tells the others.</summary>
    private async Task ChangedAsync(string name)
    {
        _active.Invalidate();
        await _bus.PublishAsync(Topic, name);
    }

    private const string Columns = "id, scope_name, description, is_default, is_active, created_at, updated_at";

    /// <summary>The active scopes by name. Cached.</summary>
    public async Task<IReadOnlyDictionary<string, Scope>> ActiveAsync(CancellationToken ct) => await _active.GetAsync(ct);

    private const string ActiveSql = $"SELECT {Columns} FROM scopes WHERE is_active";
    private async Task<IReadOnlyDictionary<string, Scope>> ActiveUncachedAsync(CancellationToken ct)
    {
        await using var conn = await _db.OpenAsync(ct);
        var rows = await conn.QueryAsync<Scope>(new CommandDefinition(ActiveSql, cancellationToken: ct));
        return rows.ToDictionary(s => s.ScopeName, StringComparer.Ordinal);
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
