using System.Security.Cryptography;
using Authly.Security;
using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Mfa;

/// <summary>
/// Ten single-use recovery codes per user (table mfa_recovery_codes), shown once when made and
/// stored as SHA-256 only: each has 80 random bits, so a plain digest cannot be reversed by
/// guessing. Making a new set deletes the old one in the same transaction. A code is spent by one
/// UPDATE (never a read then a write), so two concurrent uses of one code cannot both pass.
/// </summary>
public sealed class RecoveryCodeStore(NpgsqlDataSource db)
{
    public const int Count = 10;
    // 32 symbols without the look-alikes 0/O and 1/I: 16 characters of 5 bits = 80 bits.
    private const string Alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

    /// <summary>A code as shown: four groups of four, e.g. K7QM-2XRD-9HNP-CW4T.</summary>
    public static string NewCode()
    {
        var chars = new char[19];
        var bytes = RandomNumberGenerator.GetBytes(16);
        for (int i = 0, c = 0; i < 16; i++)
        {
            if (i is 4 or 8 or 12) chars[c++] = '-';
            chars[c++] = Alphabet[bytes[i] & 31];
        }
        return new string(chars);
    }

    /// <summary>The form that is hashed: upper case, without spaces and dashes, so a code typed either way matches.</summary>
    public static string? Normalize(string? code)
    {
        if (code is null || code.Length > 40) return null;
        var s = new string(code.Where(ch => ch is not ('-' or ' ')).Select(char.ToUpperInvariant).ToArray());
        return s.Length == 16 && s.All(ch => Alphabet.Contains(ch)) ? s : null;
    }

    private const string DeleteSql = "DELETE FROM mfa_recovery_codes WHERE user_id = @UserId";
    private const string InsertSql = "INSERT INTO mfa_recovery_codes (user_id, code_hash) SELECT @UserId, h FROM unnest(@Hashes) AS h";

    /// <summary>Replaces the user's codes with ten new ones; returns them (the only time they exist in clear).</summary>
    public async Task<IReadOnlyList<string>> RegenerateAsync(Guid userId, CancellationToken ct)
    {
        var codes = Enumerable.Range(0, Count).Select(_ => NewCode()).ToList();
        await using var conn = await db.OpenAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(DeleteSql, new { UserId = userId }, tx, cancellationToken: ct));
        await conn.ExecuteAsync(new CommandDefinition(InsertSql, new
        {
            UserId = userId, Hashes = codes.Select(c => OpaqueToken.Hash(Normalize(c)!)).ToArray(),
        }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
        return codes;
    }

    private const string UseSql = "UPDATE mfa_recovery_codes SET used_at = now() WHERE user_id = @UserId AND code_hash = @Hash AND used_at IS NULL";

    /// <summary>Spends one code; false when it is not one of the user's unused codes.</summary>
    public async Task<bool> UseAsync(Guid userId, string? code, CancellationToken ct)
    {
        if (Normalize(code) is not { } normalized) return false;
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(UseSql, new { UserId = userId, Hash = OpaqueToken.Hash(normalized) }, cancellationToken: ct)) == 1;
    }

    private const string RemainingSql = "SELECT count(*) FROM mfa_recovery_codes WHERE user_id = @UserId AND used_at IS NULL";

    public async Task<int> RemainingAsync(Guid userId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteScalarAsync<int>(new CommandDefinition(RemainingSql, new { UserId = userId }, cancellationToken: ct));
    }

    public async Task<int> DeleteAsync(Guid userId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(DeleteSql, new { UserId = userId }, cancellationToken: ct));
    }
}
