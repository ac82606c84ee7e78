using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Authly.Tests.Faults;

/// <summary>
/// A loopback TCP forwarder in front of a server, for real network faults without mocks. It stands in front of the
/// harness PostgreSQL because that server is shared by every fixture running in parallel and cannot be stopped:
/// cutting or stalling the proxy does to the nodes behind it what a stopped or hung PostgreSQL would do, and to no one else.
/// <list type="bullet">
/// <item><see cref="Cut"/>: every open connection is reset and new ones are refused (a stopped server).</item>
/// <item><see cref="Stall"/>: connections stay open (new ones are accepted) but no byte is forwarded (a hung server).</item>
/// <item><see cref="StallRepliesAfter"/>: requests still reach the server, but once a request containing a marker has
/// passed, no reply comes back (the server did the work; the answer is lost).</item>
/// </list>
/// </summary>
public sealed class FaultyTcpProxy : IAsyncDisposable
{
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(TcpClient Client, TcpClient Server)> _open = [];
    private TcpListener? _listener;
    private Task _accepting = Task.CompletedTask;
    private volatile bool _stalled;
    private volatile bool _repliesStalled;
    private volatile byte[]? _marker;
    private TaskCompletionSource _resumed = NewGate();

    public int Port { get; }

    /// <summary>True once a request carrying the marker of <see cref="StallRepliesAfter"/> has been forwarded.</summary>
    public bool MarkerSeen { get; private set; }

    private FaultyTcpProxy(IPEndPoint upstream, int port) => (_upstream, Port) = (upstream, port);

    public static FaultyTcpProxy Start(string upstreamHost, int upstreamPort)
    {
        var address = IPAddress.TryParse(upstreamHost, out var ip) ? ip : Dns.GetHostAddresses(upstreamHost).First(a => a.AddressFamily == AddressFamily.InterNetwork);
        var proxy = new FaultyTcpProxy(new IPEndPoint(address, upstreamPort), Cluster.AuthlyNode.FreePort());
        proxy.Listen();
        return proxy;
    }

    private static TaskCompletionSource NewGate() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Listen()
    {
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        var listener = _listener;
        _accepting = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await listener.AcceptTcpClientAsync(_stop.Token); }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { return; }
                _ = Task.Run(() => ServeAsync(client));
            }
        });
    }

    private async Task ServeAsync(TcpClient client)
    {
        var server = new TcpClient();
        try { await server.ConnectAsync(_upstream, _stop.Token); }
        catch (Exception) { Reset(client); server.Dispose(); return; }
        lock (_open) _open.Add((client, server));
        try
        {
            await Task.WhenAny(
                PumpAsync(client.GetStream(), server.GetStream(), fromClient: true),
                PumpAsync(server.GetStream(), client.GetStream(), fromClient: false));
        }
        finally
        {
            lock (_open) _open.Remove((client, server));
            Reset(client);
            Reset(server);
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool fromClient)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                await GateAsync(fromClient);
                var n = await from.ReadAsync(buffer, _stop.Token);
                if (n == 0) return;
                // A stall that began while this pump waited in ReadAsync holds the bytes it read.
                await GateAsync(fromClient);
                if (fromClient && _marker is { } marker && buffer.AsSpan(0, n).IndexOf(marker) >= 0)
                {
                    _repliesStalled = true;
                    MarkerSeen = true;
                }
                await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException) { }
    }

    private Task GateAsync(bool fromClient)
    {
        if (_stalled || (!fromClient && _repliesStalled)) return _resumed.Task.WaitAsync(_stop.Token);
        return Task.CompletedTask;
    }

    private static void Reset(TcpClient c)
    {
        // Linger 0 sends RST, as a crashed server's kernel does, instead of an orderly FIN.
        try { c.Client.LingerState = new LingerOption(true, 0); } catch (Exception) { }
        c.Dispose();
    }

    /// <summary>Resets every open connection and refuses new ones, like a stopped server.</summary>
    public void Cut()
    {
        _listener?.Stop();
        _listener = null;
        List<(TcpClient, TcpClient)> open;
        lock (_open) open = [.. _open];
        foreach (var (c, s) in open) { Reset(c); Reset(s); }
    }

    /// <summary>Accepts connections again on the same port.</summary>
    public void Restore()
    {
        if (_listener is null) Listen();
    }

    /// <summary>Connections stay open and new ones are accepted, but nothing is forwarded in either direction.</summary>
    public void Stall()
    {
        _resumed = _resumed.Task.IsCompleted ? NewGate() : _resumed;
        _stalled = true;
    }

    /// <summary>
    /// Requests keep flowing to the server; once one containing <paramref name="marker"/> (ASCII, e.g. a piece of SQL)
    /// has been forwarded, replies on every connection are held until <see cref="Resume"/>.
    /// </summary>
    public void StallRepliesAfter(string marker)
    {
        _resumed = _resumed.Task.IsCompleted ? NewGate() : _resumed;
        MarkerSeen = false;
        _marker = Encoding.ASCII.GetBytes(marker);
    }

    /// <summary>Forwards again whatever was held.</summary>
    public void Resume()
    {
        _stalled = false;
        _repliesStalled = false;
        _marker = null;
        _resumed.TrySetResult();
    }

    public async ValueTask DisposeAsync()
    {
        Resume();
        Cut();
        await _stop.CancelAsync();
        await _accepting;
        _stop.Dispose();
    }
}
