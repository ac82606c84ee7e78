using System.Diagnostics;
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
    ScopeStore scopes, ClientStore clients, Mfa.SecondFactors factors, AuthlyOptions options, ILogger<AuthlyStartup> log)
{
    public async Task<AdminBootstrap.Result> RunAsync(CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        if (options.MigrateOnStart)
        {
            var applied = await migrator.MigrateAsync(ct);
            if (applied.Count > 0) log.LogInformation("Applied migrations: {Versions}", string.Join(", ", applied));
            Took("migrations", started);
        }
        // The admin account, the key ring, the revocation list and the scopes read different tables and
        // depend on nothing but the schema: they load side by side, each on its own pooled connection.
        // The node still serves only when all four are in (hosted services finish before Kestrel listens).
        var admin = Timed("admin bootstrap", bootstrap.RunAsync(ct), started);
        var ring = Timed("signing keys", keys.RingAsync(ct).AsTask(), started);
        var revoked = Timed("revocation list", revocations.LoadAsync(ct), started);
        var active = Timed("scopes", scopes.ActiveAsync(ct), started);
        await Task.WhenAll(admin, ring, revoked, active);
        log.LogInformation("Signing with {Algorithm} key {Kid}.", ring.Result.Active.Algorithm, ring.Result.Active.Kid);
        _ = clients; // built above for its subscription; its entries load on demand
        if (options.RedisUrl is null)
            log.LogWarning("REDIS_URL is not set: rate limits, lockouts and cache invalidation are kept in this process only. " +
                           "That is fine for one node; set REDIS_URL before running more than one.");
        foreach (var warning in options.Warnings) log.LogWarning("{Warning}", warning);
        // Issue 16: once, in production mode, while the policy asks for a second factor an active admin has not set up.
        if (options.RequireMfaForAdmins && options.Mode == AuthlyMode.Production && await factors.ActiveAdminsWithoutFactorAsync(ct) is > 0 and var missing)
            log.LogWarning("AUTHLY_REQUIRE_MFA_FOR_ADMINS is on and {Count} active admin(s) have no second factor: each must set one up at the next login " +
                           "(GET /admin/users/{{id}}/mfa shows who has one).", missing);
        if (options.UsesInsecureDefaults)
            log.LogWarning("Using the shipped default JWT secrets (mode {Mode}). Never expose this server: set JWT_SECRET_KEY and JWT_REFRESH_SECRET_KEY.", options.Mode);
        return admin.Result;
    }

    private async Task<T> Timed<T>(string step, Task<T> work, long started)
    {
        var result = await work;
        Took(step, started);
        return result;
    }

    private async Task Timed(string step, Task work, long started)
    {
        await work;
        Took(step, started);
    }

    /// <summary>Where start-up time goes (issue 14; bench/startup.sh): milliseconds since start-up work began, at Debug.</summary>
    private void Took(string step, long started)
    {
        if (log.IsEnabled(LogLevel.Debug))
            log.LogDebug("Start-up: {Step} done {Ms:F0} ms into start-up work.", step, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }
}
