using System.Security.Cryptography;
using System.Text;
using Dapper;
using Npgsql;

namespace Authly.Storage;

/// <summary>
/// Applies the numbered scripts under sql/ (embedded in this assembly) in order. One
/// transaction per script, a journal table with each script's checksum, and a session-level
/// advisory lock so two nodes starting at once never migrate together.
/// </summary>
public sealed class Migrator(NpgsqlDataSource db)
{
    // Any fixed 64-bit number; it only has to be the same on every node.
    private const long AdvisoryLockKey = 0x417574686C79;
    /// <summary>Dapper's commandTimeout: 0 is Npgsql's "no limit".</summary>
    private const int NoTimeout = 0;

    private const string CreateJournalSql = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    text PRIMARY KEY,
            checksum   text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now())
        """;

    private const string AppliedSql = "SELECT version, checksum FROM schema_migrations";
    private const string RecordSql = "INSERT INTO schema_migrations (version, checksum) VALUES (@Version, @Checksum)";

    public sealed record Script(string Version, string Sql, string Checksum);

    public static IReadOnlyList<Script> Scripts()
    {
        var assembly = typeof(Migrator).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("sql/", StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n =>
            {
                using var stream = assembly.GetManifestResourceStream(n)!;
                using var reader = new StreamReader(stream, Encoding.UTF8);
                var sql = reader.ReadToEnd();
                var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql.ReplaceLineEndings("\n"))));
                return new Script(Path.GetFileNameWithoutExtension(n["sql/".Length..]), sql, checksum);
            })
            .ToList();
    }

    // The journal row may have been edited by hand, so the stored value can be any length.
    private static string Prefix(string checksum) => checksum.Length <= 12 ? checksum : checksum[..12];

    /// <summary>Applies pending scripts; returns the versions applied now.</summary>
    public async Task<IReadOnlyList<string>> MigrateAsync(CancellationToken ct)
    {
        await using var conn = await db.OpenConnectionAsync(ct);
        // The server's pool gives every statement a few seconds (DatabaseUrl.ForServer); a migration
        // may rewrite a large table, and waiting for another node's migration holds the lock below
        // for as long as that takes. Neither has a timeout here; the session setting ends with the
        // connection's return to the pool (DISCARD ALL) and is reset below as well.
        await conn.ExecuteAsync(new CommandDefinition("SET statement_timeout = 0", commandTimeout: NoTimeout, cancellationToken: ct));
        await conn.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@Key)", new { Key = AdvisoryLockKey }, commandTimeout: NoTimeout, cancellationToken: ct));
        try
        {
            await conn.ExecuteAsync(new CommandDefinition(CreateJournalSql, commandTimeout: NoTimeout, cancellationToken: ct));
            var applied = (await conn.QueryAsync<(string Version, string Checksum)>(new CommandDefinition(AppliedSql, cancellationToken: ct)))
                .ToDictionary(r => r.Version, r => r.Checksum);
            var done = new List<string>();
            foreach (var script in Scripts())
            {
                if (applied.TryGetValue(script.Version, out var checksum))
                {
                    if (checksum != script.Checksum)
                        throw new InvalidOperationException(
                            $"Migration {script.Version} was changed after it was applied (checksum '{Prefix(checksum)}' in the database, '{Prefix(script.Checksum)}' now). " +
                            "Applied scripts are final: put the change in a new numbered script.");
                    continue;
                }
                await using var tx = await conn.BeginTransactionAsync(ct);
                await conn.ExecuteAsync(new CommandDefinition(script.Sql, transaction: tx, commandTimeout: NoTimeout, cancellationToken: ct));
                await conn.ExecuteAsync(new CommandDefinition(RecordSql, new { script.Version, script.Checksum }, tx, cancellationToken: ct));
                await tx.CommitAsync(ct);
                done.Add(script.Version);
            }
            return done;
        }
        finally
        {
            await conn.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_unlock(@Key)", new { Key = AdvisoryLockKey }, cancellationToken: CancellationToken.None));
            await conn.ExecuteAsync(new CommandDefinition("RESET statement_timeout", cancellationToken: CancellationToken.None));
        }
    }
}
