using Authly.Security;
using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Clients;

/// <summary>
/// RFC 7523 §3 item 7: a client assertion's jti is used once. Recorded in PostgreSQL (every node sees every
/// use, with or without Redis) as SHA-256 per client, until a margin past the assertion's exp; one
/// INSERT … ON CONFLICT DO NOTHING decides between two nodes racing with the same assertion.
/// </summary>
public sealed class ClientAssertionJtis(NpgsqlDataSource db)
{
    /// <summary>Kept this long past exp, so a database clock behind a node's clock never forgets a jti that node would still take.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromMinutes(5);

    private const string InsertSql = """
        INSERT INTO client_assertion_jtis (client_id, jti_hash, expires_at)
        VALUES (@ClientId, @Hash, @ExpiresAt)
        ON CONFLICT DO NOTHING
        """;

    /// <summary>True the first time this client presents this jti; false for every later use.</summary>
    public async Task<bool> TryUseAsync(string clientId, string jti, DateTimeOffset expires, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(InsertSql,
            new { ClientId = clientId, Hash = OpaqueToken.Hash(jti), ExpiresAt = expires.UtcDateTime + Margin }, cancellationToken: ct)) == 1;
    }
}
