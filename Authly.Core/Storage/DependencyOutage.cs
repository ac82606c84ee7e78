using Npgsql;
using StackExchange.Redis;

namespace Authly.Storage;

/// <summary>
/// The one rule for "a dependency is unavailable": PostgreSQL unreachable, refusing connections,
/// out of connections or timing out, or Redis unreachable where a path has no fallback. Every
/// transport maps it to 503 + Retry-After (never 500): the caller did nothing wrong and a retry may work. A statement PostgreSQL rejected (a constraint,
/// bad SQL) is not an outage; it stays a 500 that someone must fix.
/// </summary>
public static class DependencyOutage
{
    /// <summary>What Retry-After says: long enough not to hammer a restarting server, short enough to notice its return.</summary>
    public const int RetryAfterSeconds = 5;

    public static bool Is(Exception e) => e switch
    {
        // 57014: our statement_timeout or command timeout cancelled a statement of a stalled database.
        // 53xxx: out of connections/memory/disk; 57P0x: shutting down or starting; 08xxx: connection failures;
        // 55000 is what a database with ALLOW_CONNECTIONS false answers; 3D000 a database that is not there (yet).
        PostgresException p => p.SqlState is "55000" or "57014" or "3D000" || p.SqlState.StartsWith("08", StringComparison.Ordinal)
                                || p.SqlState.StartsWith("53", StringComparison.Ordinal) || p.SqlState.StartsWith("57P", StringComparison.Ordinal),
        // Socket errors, pool exhaustion ("timeout while getting a connection"), a broken stream: never a rejected statement.
        NpgsqlException => true,
        TimeoutException t => t.Source?.StartsWith("Npgsql", StringComparison.Ordinal) == true || t.InnerException is not null && Is(t.InnerException),
        RedisConnectionException or RedisTimeoutException => true,
        AggregateException a => a.InnerExceptions.Count > 0 && a.InnerExceptions.All(Is),
        _ => false,
    };
}
