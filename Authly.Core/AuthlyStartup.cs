using Authly.Configuration;
using Authly.Storage;
using Authly.Tokens;
using Authly.Users;
using Microsoft.Extensions.Logging;

namespace Authly;

/// <summary>What a node does before it serves: migrate (unless told not to), bootstrap the admin, load the signing keys.</summary>
public sealed class AuthlyStartup(Migrator migrator, AdminBootstrap bootstrap, SigningKeyStore keys, AuthlyOptions options, ILogger<AuthlyStartup> log)
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
        if (options.RedisUrl is null)
            log.LogWarning("REDIS_URL is not set: rate limits, lockouts and cache invalidation are kept in this process only. " +
                           "That is fine for one node; set REDIS_URL before running more than one.");
        if (options.UsesInsecureDefaults)
            log.LogWarning("Using the shipped default JWT secrets (mode {Mode}). Never expose this server: set JWT_SECRET_KEY and JWT_REFRESH_SECRET_KEY.", options.Mode);
        return admin;
    }
}
