using System.Collections.Concurrent;
using Npgsql;

namespace Authly.Storage;

/// <summary>
/// Opening a pooled connection so that a burst queues instead of failing: when PostgreSQL refuses a
/// new connection for lack of free slots (SQLSTATE 53300, too many connections for the server or the
/// role), it is tried again with a growing, jittered pause until the data source's connect timeout
/// (DATABASE_URL <c>connect_timeout</c>) is spent; then the refusal surfaces (a 503 with Retry-After).
/// Every other failure surfaces at once.
/// </summary>
public static class DatabaseConnections
{
    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(500);
    private static readonly ConcurrentDictionary<string, TimeSpan> Budgets = new(StringComparer.Ordinal);

    public static async ValueTask<NpgsqlConnection> OpenAsync(this NpgsqlDataSource db, CancellationToken ct)
    {
        var started = TimeProvider.System.GetTimestamp();
        var pause = FirstPause;
        while (true)
        {
            try { return await db.OpenConnectionAsync(ct); }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.TooManyConnections
                                              && TimeProvider.System.GetElapsedTime(started) + pause < BudgetOf(db))
            {
                await Task.Delay(pause + TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)pause.TotalMilliseconds)), ct);
                pause = pause * 2 < LongestPause ? pause * 2 : LongestPause;
            }
        }
    }

    private static TimeSpan BudgetOf(NpgsqlDataSource db) =>
        Budgets.GetOrAdd(db.ConnectionString, cs => TimeSpan.FromSeconds(Math.Max(1, new NpgsqlConnectionStringBuilder(cs).Timeout)));
}
