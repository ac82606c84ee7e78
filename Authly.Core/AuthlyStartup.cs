using Authly.Clients;
using Authly.Configuration;
using Authly.Scopes;
using Authly.Storage;
using Authly.Tokens;
using Authly.Users;
using Microsoft.Extensions.Logging;

namespace Authly;

/// <summary>
/// What a node does before it serves: migrate (unless told not to), bootstrap the admin, load the
/// signing keys, the revocation list and the active scopes.
/// </summary>
/// <remarks>
/// The caches that listen on the cluster bus are constructor parameters so that they exist before
/// the first request: subscribing waits synchronously for Redis (StackExchange.Redis's Subscribe), and when
/// a burst of first requests built them instead, every other request blocked a thread-pool thread
/// on the container's lock while the subscription waited for a thread to complete on, and the
/// burst stalled for seconds and ended in 500s (seen when load starts right after a restart).
/// </remarks>
public sealed class AuthlyStartup(Migrator migrator, AdminBootstrap bootstrap, SigningKeyStore keys, RevocationList revocations,
    ScopeStore scopes, ClientStore clients, AuthlyOptions options, ILogger<AuthlyStartup> log)
{
    public async Task<AdminBootstrap.Result> RunAsync(CancellationToken ct)
    {
        if (options.MigrateOnStart)
        {
            var applied = await migrator.MigrateAsync(ct);
            if (applied.Count > 0) log.LogInformation("Applied migrations: {Versions}", string.Join(", ", applied));
        }
        var admin = await bootstrap.RunAsync(ct);
        var ring = await keys.RingAsync(ct);
        log.LogInformation("Signing with {Algorithm} key {Kid}.", ring.Active.Algorithm, ring.Active.Kid);
        await revocations.LoadAsync(ct);
        await scopes.ActiveAsync(ct);
        _ = clients; // built above for its subscription; its entries load on demand
        if (options.RedisUrl is null)
            log.LogWarning("REDIS_URL is not set: rate limits, lockouts and cache invalidation are kept in this process only. " +
                           "That is fine for one node; set REDIS_URL before running more than one.");
        foreach (var warning in options.Warnings) log.LogWarning("{Warning}", warning);
        if (options.UsesInsecureDefaults)
            log.LogWarning("Using the shipped default JWT secrets (mode {Mode}). Never expose this server: set JWT_SECRET_KEY and JWT_REFRESH_SECRET_KEY.", options.Mode);
        return admin;
    }
}
