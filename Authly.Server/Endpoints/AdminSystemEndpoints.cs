using Authly.Admin;
using Authly.Configuration;
using Authly.Storage;

namespace Authly.Server.Endpoints;

/// <summary>/admin/status and /admin/dashboard/stats (admin:system:read): what runs, how it is configured, how much it holds. No secrets.</summary>
public static class AdminSystemEndpoints
{
    public static void MapAdminSystemEndpoints(this RouteGroupBuilder admin)
    {
        admin.MapGet("/status", StatusAsync).Needs("admin:system:read").WithSummary("Database, Redis, configuration (no secrets) and counts");
        admin.MapGet("/dashboard/stats", DashboardAsync).Needs("admin:system:read").WithSummary("Counts of users, clients, scopes, sessions and token families");
    }

    private static async Task<IResult> StatusAsync(SystemStatistics statistics, AuthlyOptions options, RedisHealth redis, TimeProvider clock,
        CancellationToken ct)
    {
        var counts = await statistics.ReadAsync(ct);
        var redisConnected = redis.Check() == RedisHealth.Connected;
        return Results.Json(new
        {
            status = !redis.IsConfigured || redisConnected ? "healthy" : "degraded",
            version = AuthlyWebApp.Version,
            database = new { connected = true, version = counts.DatabaseVersion },
            redis = new { enabled = redis.IsConfigured, connected = redisConnected },
            configuration = new
            {
                mode = options.Mode.ToString().ToLowerInvariant(),
                issuer = options.Issuer,
                signing_algorithm = options.SigningAlgorithm,
                access_token_expire_minutes = options.AccessTokenExpireMinutes,
                refresh_token_expire_days = options.RefreshTokenExpireDays,
                password_grant_enabled = options.PasswordGrantEnabled,
                registration_enabled = options.RegistrationEnabled,
                admin_api_localhost_only = options.AdminApiLocalhostOnly,
                rate_limit_max_requests = options.RateLimitMaxRequests,
                rate_limit_window_seconds = options.RateLimitWindowSeconds,
                lockout_max_attempts = options.LockoutMaxAttempts,
                lockout_duration_seconds = options.LockoutDurationSeconds,
            },
            statistics = new
            {
                oauth_clients = counts.OauthClients,
                oauth_scopes = counts.OauthScopes,
                active_clients = counts.ActiveClients,
                active_scopes = counts.ActiveScopes,
                users = counts.Users,
                active_sessions = counts.ActiveSessions,
            },
            timestamp = clock.GetUtcNow().UtcDateTime,
        });
    }

    private static async Task<IResult> DashboardAsync(SystemStatistics statistics, TimeProvider clock, CancellationToken ct)
    {
        var c = await statistics.ReadAsync(ct);
        return Results.Json(new
        {
            users = new { total = c.Users, active = c.ActiveUsers, inactive = c.Users - c.ActiveUsers, admins = c.AdminUsers, verified = c.VerifiedUsers },
            clients = new { total = c.OauthClients, active = c.ActiveClients, inactive = c.OauthClients - c.ActiveClients },
            scopes = new { total = c.OauthScopes, active = c.ActiveScopes, inactive = c.OauthScopes - c.ActiveScopes },
            sessions = new { active = c.ActiveSessions },
            tokens = new { active_refresh_families = c.ActiveRefreshFamilies },
            timestamp = clock.GetUtcNow().UtcDateTime,
        });
    }
}
