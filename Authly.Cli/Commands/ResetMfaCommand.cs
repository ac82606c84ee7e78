using System.CommandLine;
using Authly.Configuration;
using Authly.Counters;
using Authly.Mfa;
using Authly.Passkeys;
using Authly.Storage;
using Authly.Users;
using Dapper;
using Npgsql;

namespace Authly.Cli.Commands;

/// <summary>
/// `authly reset-mfa USER --confirm`: last-admin recovery (issue 16). Removes a user's second factors directly in
/// DATABASE_URL, for when no admin can sign in to use the admin API (the only admin lost the phone). Says so loudly.
/// </summary>
public static class ResetMfaCommand
{
    public static Command Create()
    {
        var user = new Argument<string>("user") { Description = "Username (exact, case-insensitive)" };
        var url = new Option<string?>("--database-url") { Description = "PostgreSQL URL (default: $DATABASE_URL)" };
        var confirm = new Option<bool>("--confirm") { Description = "Really remove the factors (required)" };
        var command = new Command("reset-mfa", """
            Remove a user's second factors directly in the database: last-admin recovery when no admin can sign in.
            Prefer `authly admin user mfa reset` while an admin can. Writes a warning line to stderr.
            With JWT_SECRET_KEY set (as the server has it), the user's second-factor lockout is cleared too.

            Example:
              DATABASE_URL=postgresql://authly:secret@localhost:5432/authly authly reset-mfa admin --confirm
            """) { user, url, confirm };
        command.SetAction(async (parse, ct) =>
        {
            var databaseUrl = parse.GetValue(url) ?? Environment.GetEnvironmentVariable("DATABASE_URL");
            if (string.IsNullOrWhiteSpace(databaseUrl)) { Console.Error.WriteLine("error: set DATABASE_URL or pass --database-url"); return 2; }
            if (!parse.GetValue(confirm)) { Console.Error.WriteLine("error: this removes the user's second factors; add --confirm"); return 2; }
            string connectionString;
            try { connectionString = DatabaseUrl.ToConnectionString(databaseUrl); }
            catch (FormatException e) { Console.Error.WriteLine($"error: DATABASE_URL is not valid: {e.Message}"); return 5; }
            DefaultTypeMap.MatchNamesWithUnderscores = true;
            await using var db = NpgsqlDataSource.Create(connectionString);
            var options = Environment.GetEnvironmentVariable("JWT_SECRET_KEY") is { Length: > 0 } secret ? new AuthlyOptions { DatabaseUrl = databaseUrl, JwtSecretKey = secret }
                : new AuthlyOptions { DatabaseUrl = databaseUrl };
            try
            {
                var name = parse.GetValue(user)!;
                var found = await new UserStore(db).FindByUsernameAsync(name, ct);
                if (found is null) { Console.Error.WriteLine($"error: user '{name}' not found"); return 4; }
                var factors = new SecondFactors(db, new TotpStore(db, options, TimeProvider.System), new RecoveryCodeStore(db), new PasskeyStore(db),
                    new PendingLoginStore(db),
                    new AttemptGuardStore(db, options));
                var removed = await factors.ResetAsync(found.Id, ct);
                Console.Error.WriteLine($"WARNING: second factors of '{found.Username}' ({found.Id}) {(removed ? "REMOVED" : "were none; nothing removed")} " +
                                        "directly in the database (authly reset-mfa, last-admin recovery). If you did not do this, treat the account as compromised.");
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
