using System.Text.Json;

namespace Authly.Tokens;

/// <summary>
/// RFC 8693 §4.1 <c>act</c>: the party acting for the token's subject, and inside it (<see cref="Act"/>) the party that
/// acted before it, and so on. Only Authly writes it, from tokens it verified; a client cannot name an actor.
/// </summary>
public sealed record ActorClaim(string Sub, string? ClientId, ActorClaim? Act)
{
    /// <summary>A chain longer than this is refused: each exchange adds a link, and a token must stay small.</summary>
    public const int MaxDepth = 8;

    public int Depth => 1 + (Act?.Depth ?? 0);

    /// <summary>The JSON object the token carries.</summary>
    public Dictionary<string, object> ToClaim()
    {
        var claim = new Dictionary<string, object> { ["sub"] = Sub };
        if (ClientId is not null) claim["client_id"] = ClientId;
        if (Act is not null) claim["act"] = Act.ToClaim();
        return claim;
    }

    /// <summary>The chain in a validated token of ours (its JSON text), or null when it has none or it is not one we wrote.</summary>
    public static ActorClaim? Parse(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxDepth + 2 });
            return Read(doc.RootElement, 1);
        }
        catch (JsonException) { return null; }
    }

    private static ActorClaim? Read(JsonElement e, int depth)
    {
        if (depth > MaxDepth || e.ValueKind != JsonValueKind.Object) return null;
        if (!e.TryGetProperty("sub", out var sub) || sub.ValueKind != JsonValueKind.String) return null;
        var clientId = e.TryGetProperty("client_id", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        var act = e.TryGetProperty("act", out var inner) ? Read(inner, depth + 1) : null;
        return new ActorClaim(sub.GetString()!, clientId, act);
    }
}
