using System.Text.Json;
using Authly.Security;
using Authly.Storage;
using Dapper;
using Npgsql;

namespace Authly.Authorization;

/// <summary>
/// Pushed authorization requests (RFC 9126). The request_uri is <see cref="UriPrefix"/> + 256 random bits, of which
/// only the SHA-256 is stored, bound to the client that pushed it. It must be first used at the authorization
/// endpoint within <see cref="Lifetime"/> (§2.2); that first use gives the user <see cref="InteractionWindow"/> to sign
/// in and consent (the login and consent pages send the request_uri back, never the pushed parameters), and the
/// code it issues consumes it: it issues one code, once (§4: one-time use). Times are on the database clock.
/// </summary>
public sealed class PushedAuthorizationStore(NpgsqlDataSource db)
{
    public const string UriPrefix = "urn:ietf:params:oauth:request_uri:";
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan InteractionWindow = TimeSpan.FromMinutes(10);

    private const string InsertSql = """
        INSERT INTO pushed_authorization_requests (request_hash, client_id, parameters, expires_at)
        VALUES (@Hash, @ClientId, @Parameters, now() + @Lifetime)
        """;

    /// <summary>Stores the validated parameters; the request_uri is returned here and never stored.</summary>
    public async Task<string> PushAsync(string clientId, IReadOnlyDictionary<string, string> parameters, CancellationToken ct)
    {
        var random = OpaqueToken.New(32);
        await using var conn = await db.OpenAsync(ct);
        await conn.ExecuteAsync(new CommandDefinition(InsertSql, new
        {
            Hash = OpaqueToken.Hash(random), ClientId = clientId, Parameters = JsonSerializer.Serialize(parameters), Lifetime,
        }, cancellationToken: ct));
        return UriPrefix + random;
    }

    // SET expressions read the row as it was: the first use starts the interaction window, later ones keep it.
    private const string StartSql = """
        UPDATE pushed_authorization_requests
        SET started_at = coalesce(started_at, now()),
            expires_at = CASE WHEN started_at IS NULL THEN now() + @InteractionWindow ELSE expires_at END
        WHERE request_hash = @Hash AND client_id = @ClientId AND consumed_at IS NULL AND expires_at > now()
        RETURNING parameters
        """;

    /// <summary>
    /// The pushed parameters, when <paramref name="requestUri"/> is this client's, unexpired and unused; else null
    /// (an unknown, expired, used or another client's request_uri are not told apart).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>?> StartAsync(string requestUri, string clientId, CancellationToken ct)
    {
        if (Hash(requestUri) is not { } hash) return null;
        await using var conn = await db.OpenAsync(ct);
        var json = await conn.QuerySingleOrDefaultAsync<string>(new CommandDefinition(StartSql,
            new { Hash = hash, ClientId = clientId, InteractionWindow }, cancellationToken: ct));
        return json is null ? null : JsonSerializer.Deserialize<Dictionary<string, string>>(json);
    }

    private const string ConsumeSql = """
        UPDATE pushed_authorization_requests SET consumed_at = now()
        WHERE request_hash = @Hash AND client_id = @ClientId AND consumed_at IS NULL AND expires_at > now()
        RETURNING true
        """;

    /// <summary>The one use that issues a code: true once; false if it was consumed (or expired) meanwhile.</summary>
    public async Task<bool> ConsumeAsync(string requestUri, string clientId, CancellationToken ct)
    {
        if (Hash(requestUri) is not { } hash) return false;
        await using var conn = await db.OpenAsync(ct);
        return await conn.QuerySingleOrDefaultAsync<bool?>(new CommandDefinition(ConsumeSql, new { Hash = hash, ClientId = clientId }, cancellationToken: ct)) == true;
    }

    private static byte[]? Hash(string requestUri) =>
        requestUri.StartsWith(UriPrefix, StringComparison.Ordinal) && requestUri.Length - UriPrefix.Length is > 0 and <= 128
            ? OpaqueToken.Hash(requestUri[UriPrefix.Length..]) : null;
}
