using Authly.Storage;
using System.Text.Json.Serialization;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Authly.Vault;

/// <summary>
/// The vault's access record: who (user:…, client:…, admin:…), which entry, when, what, and how
/// it ended. Never a token, never a secret: only ids, names and error codes go in.
/// </summary>
public sealed class VaultAudit(NpgsqlDataSource db, ILogger<VaultAudit> log)
{
    public sealed record Record
    {
        [JsonPropertyName("id")] public long Id { get; init; }
        [JsonPropertyName("at")] public DateTime At { get; init; }
        [JsonPropertyName("actor")] public string Actor { get; init; } = "";
        [JsonPropertyName("entry_id")] public Guid? EntryId { get; init; }
        [JsonPropertyName("provider")] public string? Provider { get; init; }
        [JsonPropertyName("action")] public string Action { get; init; } = "";
        [JsonPropertyName("outcome")] public string Outcome { get; init; } = "";
        [JsonPropertyName("detail")] public string? Detail { get; init; }
        [JsonPropertyName("ip")] public string? Ip { get; init; }
    }

    private const string InsertSql = """
        INSERT INTO vault_audit (actor, entry_id, provider, action, outcome, detail, ip)
        VALUES (@Actor, @EntryId, @Provider, @Action, @Outcome, @Detail, @Ip)
        """;

    /// <summary>Raised for every access with its action and outcome (both from fixed sets), for metrics.</summary>
    public event Action<string, string>? Recorded;

    /// <summary>Records one access. A failure to record is logged and does not fail the request that was already served.</summary>
    public async Task WriteAsync(VaultCaller caller, string action, string outcome, Guid? entryId = null, string? provider = null,
        string? detail = null, CancellationToken ct = default)
    {
        Recorded?.Invoke(action, outcome);
        try
        {
            await using var conn = await db.OpenAsync(ct);
            await conn.ExecuteAsync(new CommandDefinition(InsertSql, new
            {
                caller.Actor, EntryId = entryId, Provider = provider, Action = action, Outcome = outcome,
                Detail = detail is { Length: > 500 } ? detail[..500] : detail, caller.Ip,
            }, cancellationToken: ct));
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException)
        {
            log.LogError("Could not record vault access ({Action} on {EntryId} by {Actor}): {Error}", action, entryId, caller.Actor, e.Message);
        }
    }

    private const string ListSql = """
        SELECT id, at, actor, entry_id, provider, action, outcome, detail, ip FROM vault_audit
        WHERE (@EntryId::uuid IS NULL OR entry_id = @EntryId) AND (@Actor::text IS NULL OR actor = @Actor)
        ORDER BY id DESC LIMIT @Limit OFFSET @Offset
        """;
    public async Task<IReadOnlyList<Record>> ListAsync(Guid? entryId, string? actor, int limit, int offset, CancellationToken ct)
    {
        await using var conn = await db.OpenAsync(ct);
        return (await conn.QueryAsync<Record>(new CommandDefinition(ListSql,
            new { EntryId = entryId, Actor = actor, Limit = limit, Offset = offset }, cancellationToken: ct))).AsList();
    }
}
