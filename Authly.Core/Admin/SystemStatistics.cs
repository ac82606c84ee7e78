using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Admin;

/// <summary>Counts for GET /admin/status and /admin/dashboard/stats, read in one statement so they are consistent with each other.</summary>
public sealed class SystemStatistics(NpgsqlDataSource db)
{
    public sealed record Counts
    {
        public long Users { get; init; }
        public long ActiveUsers { get; init; }
        public long AdminUsers { get; init; }
        public long VerifiedUsers { get; init; }
        public long OauthClients { get; init; }
        public long ActiveClients { get; init; }
        public long OauthScopes { get; init; }
        public long ActiveScopes { get; init; }
        public long ActiveSessions { get; init; }
        public long ActiveRefreshFamilies { get; init; }
        public string DatabaseVersion { get; init; } = "";
    }

    private const string CountsSql = """
        SELECT
          (SELECT count(*) FROM users) AS users,
          (SELECT count(*) FROM users WHERE is_active) AS active_users,
          (SELECT count(*) FROM users WHERE is_admin) AS admin_users,
          (SELECT count(*) FROM users WHERE is_verified) AS verified_users,
          (SELECT count(*) FROM clients) AS oauth_clients,
          (SELECT count(*) FROM clients WHERE is_active) AS active_clients,
          (SELECT count(*) FROM scopes) AS oauth_scopes,
          (SELECT count(*) FROM scopes WHERE is_active) AS active_scopes,
          (SELECT count(*) FROM sessions WHERE ended_at IS NULL AND idle_expires_at > now() AND absolute_expires_at > now()) AS active_sessions,
          (SELECT count(*) FROM refresh_token_families WHERE revoked_at IS NULL) AS active_refresh_families,
          current_setting('server_version') AS database_version
        """;

    public async Task<Counts> ReadAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleAsync<Counts>(new CommandDefinition(CountsSql, cancellationToken: ct));
    }
}
