using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Authly.Storage;

namespace Authly.Proxy;

/// <summary>
/// The proxied Redis, spoken to in RESP2 over a small pool of sockets. The proxy needs Redis's
/// replies exactly as sent (status vs bulk string vs integer, binary values) to hand them to
/// redis-cli, which a general client library reshapes, so it speaks the protocol itself.
/// A connection that fails is dropped; the next command opens a fresh one, so a Redis restart
/// costs the commands in flight at that moment and nothing after.
/// </summary>
public sealed class RedisUpstream(string redisUrl, int maxIdle = 32) : IAsyncDisposable
{
    private readonly StackExchange.Redis.ConfigurationOptions _target = RedisUrl.Parse(redisUrl);
    /// <summary>The ACL user of redis://user:password@host (Redis 6+); null logs in as the default user.</summary>
    private readonly string? _user = Uri.TryCreate(redisUrl.Trim(), UriKind.Absolute, out var u) && u.UserInfo.IndexOf(':') is > 0 and var colon
        ? Uri.UnescapeDataString(u.UserInfo[..colon]) : null;
    private readonly ConcurrentBag<Connection> _idle = [];
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private sealed class Connection(TcpClient tcp, Stream stream) : IDisposable
    {
        public Stream Stream { get; } = stream;
        public RespReader Reader { get; } = new(stream);
        public void Dispose() { Stream.Dispose(); tcp.Dispose(); }
    }

    /// <summary>
    /// Sends one command and returns Redis's reply (an error reply is a value, not an exception).
    /// A connection failure before the command was written is retried once on a new connection;
    /// after it was written, only when <paramref name="idempotent"/> (a read), since a write may have happened.
    /// </summary>
    public async Task<RespValue> SendAsync(IReadOnlyList<byte[]> args, bool idempotent, CancellationToken ct)
    {
        var payload = RespWriter.Command(args);
        for (var attempt = 0; ; attempt++)
        {
            var written = false;
            Connection? conn = null;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(Timeout);
                conn = _idle.TryTake(out var pooled) ? pooled : await OpenAsync(timeout.Token);
                await conn.Stream.WriteAsync(payload, timeout.Token);
                await conn.Stream.FlushAsync(timeout.Token);
                written = true;
                var reply = await conn.Reader.ReadAsync(timeout.Token) ?? throw new IOException("Redis closed the connection");
                if (_idle.Count < maxIdle) _idle.Add(conn); else conn.Dispose();
                return reply;
            }
            catch (Exception e) when (e is IOException or SocketException or InvalidDataException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                conn?.Dispose();
                // A pooled connection may have died with a Redis restart: that is only known on use.
                if (attempt == 0 && (!written || idempotent)) continue;
                throw ProxyErrors.Unavailable("Cache unavailable");
            }
        }
    }

    private async Task<Connection> OpenAsync(CancellationToken ct)
    {
        var (host, port) = _target.EndPoints[0] switch
        {
            System.Net.DnsEndPoint d => (d.Host, d.Port),
            System.Net.IPEndPoint ip => (ip.Address.ToString(), ip.Port),
            var other => throw new InvalidOperationException("unsupported Redis endpoint " + other),
        };
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            await tcp.ConnectAsync(host, port, ct);
            Stream stream = tcp.GetStream();
            if (_target.Ssl)
            {
                var ssl = new SslStream(stream);
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = host }, ct);
                stream = ssl;
            }
            var conn = new Connection(tcp, stream);
            if (!string.IsNullOrEmpty(_target.Password))
                await ExpectOkAsync(conn, _user is null ? ["AUTH", _target.Password] : ["AUTH", _user, _target.Password], ct);
            if (_target.DefaultDatabase is { } db and > 0) await ExpectOkAsync(conn, ["SELECT", db.ToString(System.Globalization.CultureInfo.InvariantCulture)], ct);
            // The name lets an operator find the proxy in CLIENT LIST; a Redis whose ACL refuses CLIENT still serves.
            await ExpectOkAsync(conn, ["CLIENT", "SETNAME", "authly-proxy"], ct, required: false);
            return conn;
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    private static async Task ExpectOkAsync(Connection conn, string[] command, CancellationToken ct, bool required = true)
    {
        await conn.Stream.WriteAsync(RespWriter.Command(command.Select(Encoding.UTF8.GetBytes).ToArray()), ct);
        var reply = await conn.Reader.ReadAsync(ct);
        if (reply is null || (reply.Kind == RespKind.Error && required))
            throw new IOException($"Redis refused {command[0]}: {reply?.Text ?? "connection closed"}");
    }

    public ValueTask DisposeAsync()
    {
        while (_idle.TryTake(out var c)) c.Dispose();
        return ValueTask.CompletedTask;
    }
}
