using System.Data;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Text;
using Dapper;
using DbUp;
using DbUp.Engine;
using DbUp.Engine.Output;
using DbUp.Engine.Transactions;
using DbUp.Postgresql;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Authly.Storage;

/// <summary>
/// Applies the numbered scripts under sql/ (embedded in this assembly) in name order with DbUp:
/// one transaction per script (the script and its journal row commit together), the journal
/// <c>schema_migrations</c> with each script's checksum (checked at every start: an applied script
/// that changed refuses to start), and a session-level advisory lock so two nodes starting at once
/// never migrate together.
/// </summary>
/// <remarks>
/// DbUp brings the runner; what it lacks is kept here. Its own journal stores names only and it has
/// no cluster lock, so <see cref="SchemaMigrationsJournal"/> implements its journal over the table
/// the hand-written runner created before (same columns, same rows: a database it migrated upgrades
/// with nothing re-run), and the advisory lock is taken on a connection of its own around the
/// whole upgrade.
/// </remarks>
public sealed class Migrator(NpgsqlDataSource db, ILogger<Migrator>? log = null)
{
    // Any fixed 64-bit number; it only has to be the same on every node.
    internal const long AdvisoryLockKey = 0x417574686C79;
    /// <summary>Dapper's commandTimeout: 0 is Npgsql's "no limit".</summary>
    private const int NoTimeout = 0;

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
                return new Script(Path.GetFileNameWithoutExtension(n["sql/".Length..]), sql, Checksum(sql));
            })
            .ToList();
    }

    /// <summary>The journal's checksum: SHA-256 of the script with its line endings made "\n", lower-case hex.</summary>
    public static string Checksum(string sql) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql.ReplaceLineEndings("\n"))));

    /// <summary>Applies pending scripts; returns the versions applied now.</summary>
    /// <remarks><paramref name="ct"/> ends the wait for another node's migration; DbUp itself is
    /// synchronous, and a script once started runs to its commit or rollback.</remarks>
    public Task<IReadOnlyList<string>> MigrateAsync(CancellationToken ct) => MigrateAsync(Scripts(), ct);

    /// <summary>Applies pending <paramref name="scripts"/> (tests pass their own to see a failing script roll back).</summary>
    internal async Task<IReadOnlyList<string>> MigrateAsync(IReadOnlyList<Script> scripts, CancellationToken ct)
    {
        await using var lockConnection = await db.OpenConnectionAsync(ct);
        // The server's pool gives every statement a few seconds (DatabaseUrl.ForServer); waiting for
        // another node's migration holds this session for as long as that takes, so no timeout here
        // (reset below, and by the connection's return to the pool).
        await lockConnection.ExecuteAsync(new CommandDefinition("SET statement_timeout = 0", commandTimeout: NoTimeout, cancellationToken: ct));
        await lockConnection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@Key)", new { Key = AdvisoryLockKey }, commandTimeout: NoTimeout, cancellationToken: ct));
        try
        {
            var upgrader = DeployChanges.To.PostgresqlDatabase(new PostgresqlConnectionManager(db))
                .WithScripts(scripts.Select(s => new SqlScript(s.Version, s.Sql)))
                .WithScriptNameComparer(StringComparer.Ordinal)
                .JournalTo((connections, _) => new SchemaMigrationsJournal(connections, scripts))
                .WithTransactionPerScript()
                // Scripts run as written: no $variable$ substitution (a regex like '^a$' stays a regex).
                .WithVariablesDisabled()
                // A migration may rewrite a large table: neither the client nor the server times it out.
                .WithExecutionTimeout(TimeSpan.Zero)
                .WithPreprocessor(new NoStatementTimeout())
                .LogTo(new UpgradeLog(log ?? (ILogger)NullLogger.Instance))
                .Build();
            var result = await Task.Run(upgrader.PerformUpgrade, CancellationToken.None);
            if (result.Successful) return result.Scripts.Select(s => s.Name).ToList();
            if (result.ErrorScript is { } failed)
                throw new InvalidOperationException(
                    $"Migration {failed.Name} failed and was rolled back (nothing of it is applied): {result.Error.Message}", result.Error);
            ExceptionDispatchInfo.Capture(result.Error).Throw();
            throw result.Error; // not reached: Throw() does not return
        }
        finally
        {
            await lockConnection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_unlock(@Key)", new { Key = AdvisoryLockKey }, cancellationToken: CancellationToken.None));
            await lockConnection.ExecuteAsync(new CommandDefinition("RESET statement_timeout", cancellationToken: CancellationToken.None));
        }
    }

    /// <summary>
    /// DbUp's journal over <c>schema_migrations</c> (version, checksum, applied_at), the table and
    /// rows the runner before DbUp wrote. Reading it checks every applied script still known to this
    /// build against its checksum; rows of scripts this build does not know (a newer node migrated)
    /// are left alone, as before.
    /// </summary>
    private sealed class SchemaMigrationsJournal(Func<IConnectionManager> connections, IReadOnlyList<Script> scripts) : IJournal
    {
        private const string CreateSql = """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    text PRIMARY KEY,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())
            """;

        public string[] GetExecutedScripts() => connections().ExecuteCommandsWithManagedConnection(command =>
        {
            EnsureTableExistsAndIsLatestVersion(command);
            var applied = new Dictionary<string, string>(StringComparer.Ordinal);
            using (var select = command())
            {
                select.CommandText = "SELECT version, checksum FROM schema_migrations";
                using var reader = select.ExecuteReader();
                while (reader.Read()) applied[reader.GetString(0)] = reader.GetString(1);
            }
            foreach (var script in scripts)
                if (applied.TryGetValue(script.Version, out var checksum) && checksum != script.Checksum)
                    throw new InvalidOperationException(
                        $"Migration {script.Version} was changed after it was applied (checksum '{Prefix(checksum)}' in the database, '{Prefix(script.Checksum)}' now). " +
                        "Applied scripts are final: put the change in a new numbered script.");
            return applied.Keys.ToArray();
        });

        // The journal row may have been edited by hand, so the stored value can be any length.
        private static string Prefix(string checksum) => checksum.Length <= 12 ? checksum : checksum[..12];

        public void StoreExecutedScript(SqlScript script, Func<IDbCommand> dbCommandFactory)
        {
            using var insert = dbCommandFactory();
            insert.CommandText = "INSERT INTO schema_migrations (version, checksum) VALUES (@version, @checksum)";
            Add(insert, "version", script.Name);
            Add(insert, "checksum", Checksum(script.Contents));
            insert.ExecuteNonQuery();
        }

        private static void Add(IDbCommand command, string name, string value)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }

        public void EnsureTableExistsAndIsLatestVersion(Func<IDbCommand> dbCommandFactory)
        {
            using var create = dbCommandFactory();
            create.CommandText = CreateSql;
            create.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Lifts the pool's statement_timeout for the script's own transaction (SET LOCAL ends with it),
    /// so a connection that goes back to the server's pool keeps its timeout.
    /// </summary>
    private sealed class NoStatementTimeout : IScriptPreprocessor
    {
        public string Process(string contents) => "SET LOCAL statement_timeout = 0;\n" + contents;
    }

    /// <summary>
    /// DbUp's log into the app's ILogger. DbUp narrates every step ("Beginning database upgrade",
    /// each script) and reports a failure on several lines before returning it; the failure reaches
    /// the caller through <see cref="MigrateAsync"/>, and what was applied is logged once by
    /// AuthlyStartup or printed by `authly migrate`, so DbUp's own lines go to Debug.
    /// </summary>
    private sealed class UpgradeLog(ILogger log) : IUpgradeLog
    {
        public void LogTrace(string format, params object[] args) => Write(LogLevel.Trace, format, args);
        public void LogDebug(string format, params object[] args) => Write(LogLevel.Debug, format, args);
        public void LogInformation(string format, params object[] args) => Write(LogLevel.Debug, format, args);
        public void LogWarning(string format, params object[] args) => Write(LogLevel.Warning, format, args);
        public void LogError(string format, params object[] args) => Write(LogLevel.Debug, format, args);
        public void LogError(Exception ex, string format, params object[] args) => Write(LogLevel.Debug, format, args);

        private void Write(LogLevel level, string format, object[] args)
        {
            if (log.IsEnabled(level))
                log.Log(level, "DbUp: {Message}", args.Length == 0 ? format : string.Format(CultureInfo.InvariantCulture, format, args));
        }
    }
}
