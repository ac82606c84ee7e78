using System.Text;
using System.Text.Json.Nodes;

namespace Authly.Proxy;

/// <summary>
/// Runs one caller's Redis command: the command table (<see cref="RedisCommandTable"/>) decides
/// whether it is allowed and whether it needs <c>cache:read</c> or <c>cache:write</c>, and rewrites
/// every key into the caller's own space, <c>user:&lt;sub&gt;:</c>. Shared by POST /command and the
/// RESP listener, so both apply the same rules.
/// </summary>
public sealed class RedisProxy(RedisUpstream redis)
{
    public const string ReadScope = "cache:read";
    public const string WriteScope = "cache:write";

    public RedisPlan Authorize(ProxyPrincipal caller, string command, IReadOnlyList<byte[]> args)
    {
        var plan = RedisCommandTable.Plan(command, args, caller.Subject);
        var scope = plan.Access == RedisAccess.Read ? ReadScope : WriteScope;
        if (!caller.Has(scope)) throw ProxyErrors.Scope(scope, $"Insufficient scope: {scope} is required for {plan.Command}");
        return plan;
    }

    /// <summary>Authorizes, sends, and returns Redis's reply with the caller's key prefix taken off any key names in it.</summary>
    public async Task<RespValue> ExecuteAsync(ProxyPrincipal caller, string command, IReadOnlyList<byte[]> args, CancellationToken ct)
    {
        var plan = Authorize(caller, command, args);
        var wire = new List<byte[]>(plan.Args.Count + 1) { Encoding.UTF8.GetBytes(plan.Command) };
        wire.AddRange(plan.Args);
        var reply = await redis.SendAsync(wire, plan.Access == RedisAccess.Read, ct);
        if (plan.Command == "SCAN" && reply is { Kind: RespKind.Array, Items: [var cursor, { Kind: RespKind.Array } keys] })
            reply = RespValue.Array([cursor, RespValue.Array(keys.Items!.Select(k =>
                k.Kind == RespKind.Bulk ? RespValue.Bulk(RedisCommandTable.Unprefix(k.Bytes!, caller.Subject)) : k).ToArray())]);
        return reply;
    }

    /// <summary>A reply as JSON for POST /command: strings, integers, arrays, null; an error reply is a 400 <see cref="AuthlyException"/>.</summary>
    public static JsonNode? ToJson(RespValue v) => v.Kind switch
    {
        RespKind.Simple or RespKind.Bulk => JsonValue.Create(v.Text),
        RespKind.Integer => JsonValue.Create(v.Integer),
        RespKind.Null or RespKind.NullArray => null,
        RespKind.Array => new JsonArray(v.Items!.Select(ToJson).ToArray()),
        _ => throw ProxyErrors.BadRequest("Redis error: " + v.Text),
    };
}
