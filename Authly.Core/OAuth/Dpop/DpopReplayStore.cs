using System.Security.Cryptography;
using System.Text;
using Authly.Configuration;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;
using StackExchange.Redis;

namespace Authly.OAuth.Dpop;

/// <summary>
/// The server's jti replay cache, shared by all nodes: one Redis <c>SET NX PX</c> when Redis is configured, else one
/// PostgreSQL statement that inserts the proof or takes over an expired row. Either is a single atomic step, so of a burst
/// of the same proof exactly one is accepted. Only SHA-256 of (thumbprint, jti) is kept.
/// While a configured Redis is unreachable the PostgreSQL table answers instead (logged once per outage): every node
/// falls back alike, so the cache stays shared; a proof accepted through Redis in the last window before the outage is
/// not in the table, which is the one replay this leaves open, for at most one acceptance window (<see cref="AuthlyOptions.DpopIatWindow"/>).
/// </summary>
public sealed class DpopReplayStore(NpgsqlDataSource db, IConnectionMultiplexer? redis, AuthlyOptions options, ILogger<DpopReplayStore> log)
    : IDpopReplayCache
{
    private int _redisFailing;

    // The row is new, or an old one whose time is up is taken over: either way the proof is accepted.
    private const string UseSql = """
        INSERT INTO dpop_proofs (proof_hash, expires_at) VALUES (@Hash, now() + @Remember)
        ON CONFLICT (proof_hash) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE dpop_proofs.expires_at <= now()
        RETURNING true
        """;

    public async Task<bool> TryUseAsync(string jkt, string jti, TimeSpan remember, CancellationToken ct)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(jkt + "\n" + jti));
        if (redis is not null)
        {
            try
            {
                var first = await redis.GetDatabase().StringSetAsync(options.RedisPrefix + "dpop:" + Convert.ToHexString(hash), "1", remember, When.NotExists);
                if (Interlocked.Exchange(ref _redisFailing, 0) == 1) log.LogInformation("DPoP replay cache uses Redis again");
                return first;
            }
            catch (Exception e) when (e is RedisException or RedisTimeoutException)
            {
                if (Interlocked.Exchange(ref _redisFailing, 1) == 0)
                    log.LogWarning("Redis unreachable; the DPoP replay cache uses PostgreSQL until it is back: {Error}", e.Message);
            }
        }
        await using var conn = await db.OpenConnectionAsync(ct);
        return await conn.ExecuteScalarAsync<bool?>(new CommandDefinition(UseSql, new { Hash = hash, Remember = remember }, cancellationToken: ct)) == true;
    }
}
