using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Authorization;

/// <summary>Consent remembered per user and client: a request is covered when its scopes are a subset of what was granted.</summary>
public sealed class ConsentStore(NpgsqlDataSource db)
{
    private const string GetSql = "SELECT scopes FROM consents WHERE user_id = @UserId AND client_id = @ClientId";
    public async Task<bool> CoversAsync(Guid userId, string clientId, IEnumerable<string> scopes, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        var granted = await conn.QuerySingleOrDefaultAsync<string[]>(new CommandDefinition(GetSql, new { UserId = userId, ClientId = clientId }, cancellationToken: ct));
        return granted is not null && scopes.All(s => granted.Contains(s, StringComparer.Ordinal));
    }

    private const string UpsertSql = """
        INSERT INTO consents (user_id, client_id, scopes) VALUES (@UserId, @ClientId, @Scopes)
        ON CONFLICT (user_id, client_id) DO UPDATE
        SET scopes = ARRAY(SELECT DISTINCT unnest(consents.scopes || EXCLUDED.scopes) ORDER BY 1), updated_at = now()
        """;
    public async Task GrantAsync(Guid userId, string clientId, IEnumerable<string> scopes, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(UpsertSql, new { UserId = userId, ClientId = clientId, Scopes = scopes.ToArray() }, cancellationToken: ct));
    }
}
