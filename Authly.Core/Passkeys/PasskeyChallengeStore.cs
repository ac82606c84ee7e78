using Authly.Security;
using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Passkeys;

/// <summary>
/// The challenge of each WebAuthn ceremony (WebAuthn §13.4.3), kept server-side: the browser gets a
/// random handle (a cookie), the row holds its hash, the options that were sent and the user they
/// were sent for. Consuming is one DELETE … RETURNING, so a challenge verifies at most once on any
/// node; a handle only a browser holds binds it to that browser; the purpose keeps a registration
/// challenge from serving a sign-in.
/// </summary>
public sealed class PasskeyChallengeStore(NpgsqlDataSource db)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    public const string Register = "register";
    public const string SignIn = "sign-in";
    public const string SecondFactor = "second-factor";

    private const string InsertSql = """
        INSERT INTO passkey_challenges (handle_hash, purpose, user_id, options, expires_at)
        VALUES (@Hash, @Purpose, @UserId, @Options, now() + @Lifetime)
        """;

    /// <summary>Stores the options of a ceremony; returns the handle (shown once) for the browser's cookie.</summary>
    public async Task<string> SaveAsync(string purpose, Guid? userId, string options, CancellationToken ct)
    {
        var handle = OpaqueToken.New(32);
        await using var conn = await db.OpenAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(InsertSql, new
        {
            Hash = OpaqueToken.Hash(handle), Purpose = purpose, UserId = userId, Options = options, Lifetime,
        }, cancellationToken: ct));
        return handle;
    }

    private const string ConsumeSql = """
        DELETE FROM passkey_challenges WHERE handle_hash = @Hash AND purpose = @Purpose AND expires_at > now()
        RETURNING user_id AS "UserId", options AS "Options"
        """;

    public sealed record Stored(Guid? UserId, string Options);

    /// <summary>The ceremony's options, once: a second call with the same handle finds nothing.</summary>
    public async Task<Stored?> ConsumeAsync(string? handle, string purpose, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(handle) || handle.Length > 100) return null;
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Stored>(new CommandDefinition(ConsumeSql, new { Hash = OpaqueToken.Hash(handle), Purpose = purpose },
            cancellationToken: ct));
    }
}
