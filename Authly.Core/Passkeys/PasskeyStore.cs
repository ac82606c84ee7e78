using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Passkeys;

/// <summary>The passkeys of every user. Only <see cref="RecordUseAsync"/> moves a sign counter, and only forward.</summary>
public sealed class PasskeyStore(NpgsqlDataSource db)
{
    /// <summary>Passkeys one user may hold: enough for every device a person owns, bounded so a session cannot fill the table.</summary>
    public const int MaxPerUser = 25;

    private const string Columns = "id, user_id, credential_id, public_key, sign_count, transports, aaguid, backup_eligible, backed_up, name, created_at, last_used_at";

    // The count and the insert in one statement: two concurrent registrations cannot pass the bound together
    // (the user row is locked for the statement). ON CONFLICT: a credential id is registered once, for one user.
    private const string InsertSql = $"""
        WITH owner AS (SELECT id FROM users WHERE id = @UserId FOR UPDATE)
        INSERT INTO passkeys (user_id, credential_id, public_key, sign_count, transports, aaguid, backup_eligible, backed_up, name)
        SELECT @UserId, @CredentialId, @PublicKey, @SignCount, @Transports, @Aaguid, @BackupEligible, @BackedUp, @Name FROM owner
        WHERE (SELECT count(*) FROM passkeys WHERE user_id = @UserId) < @Max
        ON CONFLICT (credential_id) DO NOTHING
        RETURNING {Columns}
        """;

    /// <returns>the row, or null when the user is gone, holds <see cref="MaxPerUser"/> passkeys, or the credential id is taken</returns>
    public async Task<Passkey?> InsertAsync(Passkey passkey, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Passkey>(new CommandDefinition(InsertSql, new
        {
            passkey.UserId, passkey.CredentialId, passkey.PublicKey, passkey.SignCount, passkey.Transports, passkey.Aaguid,
            passkey.BackupEligible, passkey.BackedUp, passkey.Name, Max = MaxPerUser,
        }, cancellationToken: ct));
    }

    private const string FindSql = $"SELECT {Columns} FROM passkeys WHERE credential_id = @CredentialId";
    public async Task<Passkey?> FindByCredentialIdAsync(byte[] credentialId, CancellationToken ct)
    {
        if (credentialId.Length is 0 or > 1023) return null; // WebAuthn §5.8.3: at most 1023 bytes
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Passkey>(new CommandDefinition(FindSql, new { CredentialId = credentialId }, cancellationToken: ct));
    }

    private const string ListSql = $"SELECT {Columns} FROM passkeys WHERE user_id = @UserId ORDER BY created_at, id";
    public async Task<IReadOnlyList<Passkey>> ListAsync(Guid userId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await conn.QueryAsync<Passkey>(new CommandDefinition(ListSql, new { UserId = userId }, cancellationToken: ct))).AsList();
    }

    private const string RenameSql = $"UPDATE passkeys SET name = @Name WHERE id = @Id AND user_id = @UserId RETURNING {Columns}";
    /// <summary>Renames one of <paramref name="userId"/>'s passkeys; null when it has none of that id.</summary>
    public async Task<Passkey?> RenameAsync(Guid userId, Guid id, string name, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Passkey>(new CommandDefinition(RenameSql, new { UserId = userId, Id = id, Name = name }, cancellationToken: ct));
    }

    private const string DeleteSql = "DELETE FROM passkeys WHERE id = @Id AND user_id = @UserId";
    /// <summary>Deletes one of <paramref name="userId"/>'s passkeys (only theirs).</summary>
    public async Task<bool> DeleteAsync(Guid userId, Guid id, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(DeleteSql, new { UserId = userId, Id = id }, cancellationToken: ct)) > 0;
    }

    private const string DeleteAllSql = "DELETE FROM passkeys WHERE user_id = @UserId";
    /// <summary>Deletes every passkey of the user (an admin's reset of the user's factors).</summary>
    public async Task<int> DeleteAllAsync(Guid userId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(DeleteAllSql, new { UserId = userId }, cancellationToken: ct));
    }

    // WebAuthn §7.2 step 22: the new counter must exceed the stored one unless both are 0 (an authenticator
    // without a counter). Compare-and-set on the value this verification read: of two assertions carrying
    // the same counter (a cloned authenticator, or one replay racing another), one row update wins.
    private const string RecordUseSql = """
        UPDATE passkeys SET sign_count = @New, backed_up = @BackedUp, last_used_at = now()
        WHERE id = @Id AND sign_count = @Old AND (@New > @Old OR (@New = 0 AND @Old = 0))
        """;

    /// <returns>false when the counter did not move forward (refuse the assertion)</returns>
    public async Task<bool> RecordUseAsync(Guid id, long oldCount, long newCount, bool backedUp, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(RecordUseSql, new { Id = id, Old = oldCount, New = newCount, BackedUp = backedUp }, cancellationToken: ct)) > 0;
    }
}
