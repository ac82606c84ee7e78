using System.CommandLine;
using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Cli.Commands;

/// <summary>`authly migrate`: applies the numbered SQL scripts to DATABASE_URL.</summary>
public static class MigrateCommand
{
    public static Command Create()
    {
        var url = new Option<string?>("--database-url") { Description = "PostgreSQL URL (default: $DATABASE_URL)" };
        var command = new Command("migrate", """
            Apply pending database migrations (safe to run on several nodes at once).

            Example:
              DATABASE_URL=postgresql://authly:secret@localhost:5432/authly authly migrate
            """) { url };
        command.SetAction(async (parse, ct) =>
        {
            var databaseUrl = parse.GetValue(url) ?? Environment.GetEnvironmentVariable("DATABASE_URL");
            if (string.IsNullOrWhiteSpace(databaseUrl)) { Console.Error.WriteLine("error: set DATABASE_URL or pass --database-url"); return 2; }
            string connectionString;
            try { connectionString = DatabaseUrl.ToConnectionString(databaseUrl); }
            catch (FormatException e) { Console.Error.WriteLine($"error: DATABASE_URL is not valid: {e.Message}"); return 5; }
            DefaultTypeMap.MatchNamesWithUnderscores = true;
            await using var db = NpgsqlDataSource.Create(connectionString);
            try
            {
                var applied = await new Migrator(db).MigrateAsync(ct);
                Console.WriteLine(applied.Count == 0 ? "Database is up to date." : $"Applied: {string.Join(", ", applied)}");
                return 0;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
