using System.Text.Json.Serialization;
using Authly.Scopes;
using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Clients;

/// <summary>
/// RFC 8693 per-client policy, set by an admin: the audiences (or resource URIs) and scopes a client may ask for in a
/// token exchange, and whether it must name an actor (delegation only, no impersonation). A client without a policy
/// may not exchange tokens, whatever its grant_types say.
/// </summary>
public sealed class TokenExchangePolicyStore(NpgsqlDataSource db)
{
    public sealed record Policy
    {
        [JsonPropertyName("client_id")] public string ClientId { get; init; } = "";
        [JsonPropertyName("audiences")] public string[] Audiences { get; init; } = [];
        [JsonPropertyName("scopes")] public string[] Scopes { get; init; } = [];
        [JsonPropertyName("require_actor")] public bool RequireActor { get; init; }
        [JsonPropertyName("updated_at")] public DateTime UpdatedAt { get; init; }
    }

    /// <summary>What an admin sends (PUT /admin/clients/{client_id}/token-exchange).</summary>
    public sealed record PolicyInput
    {
        [JsonPropertyName("audiences")] public string[]? Audiences { get; init; }
        [JsonPropertyName("scope")] public string? Scope { get; init; }
        [JsonPropertyName("require_actor")] public bool? RequireActor { get; init; }
    }

    public const int MaxAudiences = 50;

    private const string GetSql = """
        SELECT c.client_id, p.audiences, p.scopes, p.require_actor, p.updated_at
        FROM token_exchange_policies p JOIN clients c ON c.id = p.client_id WHERE c.client_id = @ClientId
        """;
    public async Task<Policy?> GetAsync(string clientId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<Policy>(new CommandDefinition(GetSql, new { ClientId = clientId }, cancellationToken: ct));
    }

    private const string UpsertSql = """
        INSERT INTO token_exchange_policies (client_id, audiences, scopes, require_actor)
        SELECT c.id, @Audiences, @Scopes, @RequireActor FROM clients c WHERE c.client_id = @ClientId
        ON CONFLICT (client_id) DO UPDATE SET audiences = excluded.audiences, scopes = excluded.scopes,
            require_actor = excluded.require_actor, updated_at = now()
        """;

    /// <summary>Sets the whole policy; null when there is no such client.</summary>
    /// <exception cref="AuthlyException">an audience or the scope is malformed</exception>
    public async Task<Policy?> SetAsync(string clientId, PolicyInput input, CancellationToken ct)
    {
        var audiences = input.Audiences ?? [];
        if (audiences.Length > MaxAudiences) throw AuthlyException.Validation($"audiences has more than {MaxAudiences} entries", "audiences");
        foreach (var a in audiences)
            // An audience is compared exactly (RFC 8693 §2.1): printable ASCII without spaces, as a scope token is.
            if (a.Length is 0 or > 2000 || !a.All(c => c is > '\x20' and <= '\x7E'))
                throw AuthlyException.Validation($"audiences: '{a}' must be 1-2000 printable characters without spaces", "audiences");
        string[] scopes;
        try { scopes = ScopeSet.Parse(input.Scope).Order(StringComparer.Ordinal).ToArray(); }
        catch (OAuth.OAuthException) { throw AuthlyException.Validation("scope must be space-separated scope names", "scope"); }
        await using var conn = await db.OpenAsync(ct);
        var n = await conn.ExecuteAsync(new CommandDefinition(UpsertSql,
            new { ClientId = clientId, Audiences = audiences.Distinct(StringComparer.Ordinal).ToArray(), Scopes = scopes, RequireActor = input.RequireActor ?? false },
            cancellationToken: ct));
        return n == 0 ? null : await GetAsync(clientId, ct);
    }

    private const string DeleteSql = """
        DELETE FROM token_exchange_policies p USING clients c WHERE c.id = p.client_id AND c.client_id = @ClientId
        """;
    public async Task<bool> DeleteAsync(string clientId, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return await conn.ExecuteAsync(new CommandDefinition(DeleteSql, new { ClientId = clientId }, cancellationToken: ct)) > 0;
    }
}
