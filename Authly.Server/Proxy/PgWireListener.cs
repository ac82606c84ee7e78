using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Authly.Proxy;

namespace Authly.Server.Proxy;

/// <summary>
/// The PostgreSQL wire protocol (v3) in front of <see cref="PostgresProxy"/>, so ordinary clients
/// work unchanged: <c>PGPASSWORD=$TOKEN psql -h 127.0.0.1 -p 5434 -U anyone db</c>, or a driver such
/// as Npgsql. The password is an Authly access token, sent in cleartext (AuthenticationCleartextPassword)
/// because the proxy must see the token itself; there is no TLS, so the listener only accepts clients
/// on loopback — remote callers use the HTTP proxy behind TLS. One task per connection; the work of
/// each connection lives in <see cref="PgWireSession"/>.
/// </summary>
public sealed class PgWireListener : IAsyncDisposable
{
    private readonly TcpListener _tcp;
    private readonly ProxyTokenValidator _validator;
    private readonly PostgresProxy _proxy;
    private readonly ILogger<PgWireListener> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<int, PgWireSession> _byProcessId = new();
    private readonly ConcurrentDictionary<Socket, Task> _connections = new();
    private readonly Task _accepting;

    /// <summary>Where statements are counted (the proxy's /metrics); null counts nothing.</summary>
    public ProxyMetrics? Metrics { get; private init; }

    /// <summary>The port bound, which is the one chosen by the system when 0 was asked for.</summary>
    public int Port { get; }

    private PgWireListener(TcpListener tcp, ProxyTokenValidator validator, PostgresProxy proxy, ILogger<PgWireListener> log)
    {
        _tcp = tcp;
        _validator = validator;
        _proxy = proxy;
        _log = log;
        Port = ((IPEndPoint)tcp.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>Binds <paramref name="address"/>:<paramref name="port"/> (0 = any free port) and starts accepting clients.</summary>
    public static PgWireListener Start(IPAddress address, int port, ProxyTokenValidator validator, PostgresProxy proxy, ProxyOptions options,
        ILogger<PgWireListener> log, ProxyMetrics? metrics = null)
    {
        var tcp = new TcpListener(address, port);
        tcp.Start();
        var listener = new PgWireListener(tcp, validator, proxy, log) { Metrics = metrics };
        if (!IPAddress.IsLoopback(address))
            log.LogWarning(
                "The PostgreSQL wire listener is bound to {Address}, which is not loopback. It has no TLS and refuses every non-loopback " +
                "client (tokens would cross the network in cleartext); bind it to 127.0.0.1 and give remote callers the HTTP proxy behind TLS",
                address);
        log.LogInformation("PostgreSQL wire protocol listening on {Address}:{Port} (statement timeout {Timeout} ms, at most {MaxRows} rows)",
            address, listener.Port, (long)options.StatementTimeout.TotalMilliseconds, options.MaxRows);
        return listener;
    }

    private async Task AcceptAsync()
    {
        var ct = _stop.Token;
        while (!ct.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _tcp.AcceptSocketAsync(ct); }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException e) when (!ct.IsCancellationRequested)
            {
                _log.LogDebug("Accepting a PostgreSQL wire client failed: {Error}", e.SocketErrorCode);
                continue;
            }
            catch (SocketException) { break; }
            socket.NoDelay = true;
            _connections[socket] = Task.Run(() => ServeAsync(socket, ct), CancellationToken.None);
        }
    }

    private async Task ServeAsync(Socket socket, CancellationToken ct)
    {
        var stream = new NetworkStream(socket, ownsSocket: true);
        var session = new PgWireSession(stream, socket.RemoteEndPoint as IPEndPoint, this, _validator, _proxy, _log);
        session.SecretKey = RandomNumberGenerator.GetInt32(int.MaxValue);
        do session.ProcessId = RandomNumberGenerator.GetInt32(1, int.MaxValue);
        while (!_byProcessId.TryAdd(session.ProcessId, session));
        try
        {
            await session.RunAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _log.LogError(e, "PostgreSQL wire connection from {Remote} failed", socket.RemoteEndPoint);
        }
        catch (OperationCanceledException) { }
        finally
        {
            _byProcessId.TryRemove(session.ProcessId, out _);
            _connections.TryRemove(socket, out _);
            await stream.DisposeAsync();
        }
    }

    /// <summary>A CancelRequest (protocol §55.2.7): cancels that session's running statement when the secret key matches.</summary>
    internal void Cancel(int processId, int secretKey)
    {
        if (_byProcessId.TryGetValue(processId, out var session)
            && CryptographicOperations.FixedTimeEquals(BitConverter.GetBytes(session.SecretKey), BitConverter.GetBytes(secretKey)))
            session.CancelQuery();
    }

    /// <summary>Stops accepting, closes every client connection and waits for their tasks to end.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _tcp.Stop();
        await _accepting;
        foreach (var socket in _connections.Keys)
            try { socket.Shutdown(SocketShutdown.Both); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        await Task.WhenAll(_connections.Values);
        _stop.Dispose();
    }
}
