using System.Net;
using Authly.Configuration;

namespace Authly.Server.Http;

/// <summary>
/// The caller's IP. X-Forwarded-For is believed only when the direct peer is one of
/// AUTHLY_TRUSTED_PROXIES, and then read from the right, skipping trusted hops.
/// </summary>
public sealed class ClientAddress(AuthlyOptions options)
{
    public IPAddress? Of(HttpContext http)
    {
        var peer = http.Connection.RemoteIpAddress;
        if (peer is null) return null;
        if (peer.IsIPv4MappedToIPv6) peer = peer.MapToIPv4();
        if (!IsTrusted(peer)) return peer;
        var forwarded = http.Request.Headers["X-Forwarded-For"].ToString();
        if (string.IsNullOrEmpty(forwarded)) return peer;
        var hops = forwarded.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        for (var i = hops.Length - 1; i >= 0; i--)
        {
            if (!IPAddress.TryParse(hops[i], out var hop)) return peer;
            if (hop.IsIPv4MappedToIPv6) hop = hop.MapToIPv4();
            if (!IsTrusted(hop) || i == 0) return hop;
        }
        return peer;
    }

    public bool IsLoopback(HttpContext http) => Of(http) is { } ip && IPAddress.IsLoopback(ip);

    // TestServer has no peer address; it only exists in-process.
    public bool IsLocalOrInProcess(HttpContext http) => http.Connection.RemoteIpAddress is null || IsLoopback(http);

    // An indexed loop, not Any(n => n.Contains(ip)): that allocated a closure and an enumerator on every request.
    private bool IsTrusted(IPAddress ip)
    {
        var networks = options.TrustedProxies;
        for (var i = 0; i < networks.Count; i++)
            if (networks[i].Contains(ip)) return true;
        return false;
    }
}
