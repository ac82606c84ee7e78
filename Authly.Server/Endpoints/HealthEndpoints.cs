using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Server.Endpoints;

public static class HealthEndpoints
{
    // The same bytes every time: serialized once, not per probe (it is also the bench's floor).
    private static readonly IResult Alive = new Http.JsonBytesResult(System.Text.Encoding.UTF8.GetBytes("""{"status":"alive"}"""));

    public static void MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", HealthAsync).WithSummary("Health with database and Redis status; 503 when PostgreSQL is unreachable");
        app.MapGet("/health/live", () => Alive).WithSummary("Liveness: the process serves HTTP");
        app.MapGet("/health/ready", ReadyAsync).WithSummary("Readiness: the database answers; each token-vault provider's discovery is checked (?strict=true: required)");
        app.MapGet("/version", () => Results.Json(new { name = "authly", version = AuthlyWebApp.Version })).WithSummary("The server's version");
    }

    private static async Task<IResult> HealthAsync(NpgsqlDataSource db, RedisHealth redisHealth, CancellationToken ct)
    {
        var database = await PingDatabaseAsync(db, ct);
        var redis = redisHealth.Check();
        var healthy = database == "connected";
        return Results.Json(new
        {
            status = healthy ? "healthy" : "unhealthy",
            version = AuthlyWebApp.Version,
            database,
            redis,
        }, statusCode: healthy ? 200 : 503);
    }

    /// <summary>
    /// Not ready without the database or while shutting down (<see cref="ShutdownDrain"/>): an
    /// unreachable vault provider is reported ("degraded") but does not take the node out of its
    /// load balancer, unless the probe asks with ?strict=true.
    /// </summary>
    private static async Task<IResult> ReadyAsync(NpgsqlDataSource db, Vault.VaultHealth vault, ShutdownDrain drain, bool? strict, CancellationToken ct)
    {
        if (drain.Draining) return Results.Json(new { status = "shutting down" }, statusCode: 503);
        if (await PingDatabaseAsync(db, ct) != "connected")
            return Results.Json(new { status = "not ready", database = "disconnected" }, statusCode: 503);
        var providers = await vault.CheckAsync(ct);
        var status = providers.AllReachable ? "ready" : "degraded";
        return Results.Json(new { status, database = "connected", vault_providers = providers.Providers },
            statusCode: !providers.AllReachable && strict == true ? 503 : 200);
    }

    internal static async Task<string> PingDatabaseAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            await using var conn = await db.OpenConnectionAsync(timeout.Token);
            await conn.ExecuteScalarAsync<int>(new CommandDefinition("SELECT 1", cancellationToken: timeout.Token));
            return "connected";
        }
        catch (Exception) when (!ct.IsCancellationRequested) { return "disconnected"; }
    }
}
