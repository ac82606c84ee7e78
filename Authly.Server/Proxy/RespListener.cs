using System.Net;
using System.Net.Sockets;
using System.Text;
using Authly.Proxy;

namespace Authly.Server.Proxy;

/// <summary>
/// The Redis proxy on the RESP2 wire, for redis-cli and Redis client libraries: `AUTH &lt;token&gt;`
/// (or `AUTH &lt;user&gt; &lt;token&gt;`, or HELLO 2 AUTH) logs the connection in with an Authly access token,
/// after which every command goes through the same <see cref="RedisProxy"/> as POST /command:
/// the same allow-list, scopes and key prefix. The token is checked again on every command (a
/// cached answer lasts a second), so a revoked or expired token stops working mid-connection.
/// There is no TLS: clients not on this machine are refused (they use POST /command over TLS).
/// </summary>
public sealed class RespListener : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly ProxyTokenValidator _validator;
    private readonly RedisProxy _proxy;
    private readonly ILogger<RespListener> _log;
    private readonly ProxyMetrics? _metrics;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly HashSet<TcpClient> _clients = [];

    public int Port { get; }
    private const int UnauthenticatedBulkBytes = 17 * 1024, UnauthenticatedArrayItems = 10;

    private RespListener(TcpListener listener, ProxyTokenValidator validator, RedisProxy proxy, ILogger<RespListener> log, ProxyMetrics? metrics)
    {
        _metrics = metrics;
        _listener = listener;
        _validator = validator;
        _proxy = proxy;
        _log = log;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public static RespListener Start(IPAddress address, int port, ProxyTokenValidator validator, RedisProxy proxy, ILogger<RespListener> log,
        ProxyMetrics? metrics = null)
    {
        var listener = new TcpListener(address, port);
        listener.Start();
        if (!IPAddress.IsLoopback(address))
            log.LogWarning("The RESP listener is bound to {Address}, which is not loopback; it has no TLS and refuses every client not on this machine", address);
        return new RespListener(listener, validator, proxy, log, metrics);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (SocketException e) { _log.LogWarning("accept failed: {Error}", e.Message); continue; }
            lock (_clients) _clients.Add(client);
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        client.NoDelay = true;
        try
        {
            await using var stream = client.GetStream();
            // AUTH carries the token in clear text: only a client on this machine may send it.
            if (client.Client.RemoteEndPoint is not IPEndPoint remote || !IPAddress.IsLoopback(remote.Address))
            {
                await stream.WriteAsync(RespWriter.Encode(RespValue.Error(
                    "ERR the Authly RESP listener accepts tokens only from loopback (use the HTTP proxy over TLS)")), _stop.Token);
                return;
            }
            // As Redis does for unauthenticated clients: small commands only until AUTH succeeds.
            var reader = new RespReader(stream, maxBulkBytes: UnauthenticatedBulkBytes, maxArrayItems: UnauthenticatedArrayItems);
            string? token = null;
            while (!_stop.IsCancellationRequested)
            {
                var command = await reader.ReadCommandAsync(_stop.Token);
                if (command is null) return;
                if (command.Count == 0) continue;
                var name = Encoding.UTF8.GetString(command[0]).ToUpperInvariant();
                var args = command.Skip(1).ToArray();
                RespValue reply;
                var close = false;
                switch (name)
                {
                    case "AUTH":
                        (token, reply) = await LoginAsync(args.Length is 1 or 2 ? args[^1] : null);
                        break;
                    case "HELLO":
                        (token, reply) = await HelloAsync(args, token);
                        break;
                    case "QUIT":
                        reply = RespValue.Ok;
                        close = true;
                        break;
                    case "PING" when token is null:
                        reply = RespValue.Error("NOAUTH Authentication required.");
                        break;
                    case "SELECT":
                        reply = RespValue.Error("ERR SELECT is not available through the Authly proxy");
                        break;
                    default:
                        reply = token is null ? RespValue.Error("NOAUTH Authentication required.") : await RunAsync(token, name, args);
                        break;
                }
                await stream.WriteAsync(RespWriter.Encode(reply), _stop.Token);
                if (close) return;
                if (token is not null) (reader.MaxBulkBytes, reader.MaxArrayItems) = (16 * 1024 * 1024, 64 * 1024);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidDataException or ObjectDisposedException)
        {
            if (e is InvalidDataException) _log.LogInformation("RESP client dropped: {Error}", e.Message);
        }
        finally
        {
            lock (_clients) _clients.Remove(client);
            client.Dispose();
        }
    }

    private async Task<(string?, RespValue)> LoginAsync(byte[]? tokenBytes)
    {
        if (tokenBytes is null) return (null, RespValue.Error("ERR wrong number of arguments for 'auth' command"));
        var token = Encoding.UTF8.GetString(tokenBytes);
        try
        {
            await _validator.AuthenticateAsync(token, _stop.Token);
            return (token, RespValue.Ok);
        }
        catch (AuthlyException e)
        {
            return (null, RespErrors.Reply(e, atLogin: true));
        }
    }

    /// <summary>HELLO [2] [AUTH user token] [SETNAME name]: RESP2 only; the server map is answered as a flat array, as RESP2 does.</summary>
    private async Task<(string?, RespValue)> HelloAsync(byte[][] args, string? token)
    {
        var i = 0;
        if (args.Length > 0 && int.TryParse(Encoding.ASCII.GetString(args[0]), out var version))
        {
            if (version != 2) return (token, RespValue.Error("NOPROTO the Authly proxy speaks RESP2 only"));
            i = 1;
        }
        for (; i < args.Length; i++)
        {
            var option = Encoding.UTF8.GetString(args[i]).ToUpperInvariant();
            if (option == "AUTH" && i + 2 < args.Length)
            {
                var (t, reply) = await LoginAsync(args[i + 2]);
                if (t is null) return (token, reply);
                token = t;
                i += 2;
            }
            else if (option == "SETNAME" && i + 1 < args.Length) i++;
            else return (token, RespValue.Error("ERR syntax error in HELLO option '" + option + "'"));
        }
        if (token is null) return (null, RespValue.Error("NOAUTH HELLO must be called with AUTH, or AUTH sent first."));
        RespValue Bulk(string s) => RespValue.Bulk(Encoding.UTF8.GetBytes(s));
        return (token, RespValue.Array([
            Bulk("server"), Bulk("authly-proxy"), Bulk("version"), Bulk(AuthlyWebApp.Version), Bulk("proto"), RespValue.Int(2),
            Bulk("mode"), Bulk("standalone"), Bulk("role"), Bulk("master"), Bulk("modules"), RespValue.Array([]),
        ]));
    }

    private async Task<RespValue> RunAsync(string token, string name, byte[][] args)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var caller = await _validator.AuthenticateAsync(token, _stop.Token);
            var reply = await _proxy.ExecuteAsync(caller, name, args, _stop.Token);
            _metrics?.Record("resp", reply.Kind == RespKind.Error ? 400 : 200, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            return reply;
        }
        catch (AuthlyException e)
        {
            _metrics?.Record("resp", e.Status, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            return RespErrors.Reply(e, atLogin: false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_clients)
            foreach (var c in _clients) c.Dispose();
        try { await _accepting; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}
