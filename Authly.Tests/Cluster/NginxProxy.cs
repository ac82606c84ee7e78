using System.Diagnostics;

namespace Authly.Tests.Cluster;

/// <summary>nginx in front of several nodes: round-robin, a dead node is skipped for requests it never received.</summary>
public sealed class NginxProxy : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;
    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}";

    private NginxProxy(Process process, string dir, int port) => (_process, _dir, Port) = (process, dir, port);

    public static string Binary() =>
        new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("nginx is not installed: run 'make test' as root (it installs it) or 'apt-get install nginx-light'.");

    public static async Task<NginxProxy> StartAsync(IEnumerable<int> upstreamPorts, int? listenPort = null)
    {
        var port = listenPort ?? AuthlyNode.FreePort();
        var dir = Path.Combine(Path.GetTempPath(), "authly-nginx-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(dir, "logs"));
        var servers = string.Concat(upstreamPorts.Select(p => $"    server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n"));
        await File.WriteAllTextAsync(Path.Combine(dir, "nginx.conf"), $$"""
            worker_processes 1;
            daemon off;
            pid {{dir}}/nginx.pid;
            error_log {{dir}}/logs/error.log warn;
            events { worker_connections 256; }
            http {
              access_log off;
              client_body_temp_path {{dir}}/body; proxy_temp_path {{dir}}/proxy; fastcgi_temp_path {{dir}}/fastcgi;
              uwsgi_temp_path {{dir}}/uwsgi; scgi_temp_path {{dir}}/scgi;
              upstream authly {
            {{servers}}    keepalive 16;
              }
              server {
                listen 127.0.0.1:{{port}};
                location / {
                  proxy_pass http://authly;
                  proxy_http_version 1.1;
                  proxy_set_header Connection "";
                  proxy_set_header Host $http_host;
                  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                  proxy_set_header X-Forwarded-Proto $scheme;
                  # A refused connection never reached the node, so even a POST may go to the next one.
                  proxy_next_upstream error timeout http_502 http_503;
                  proxy_connect_timeout 1s;
                }
              }
            }
            """);
        var psi = new ProcessStartInfo(Binary()) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", Path.Combine(dir, "nginx.conf"), "-p", dir }) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        var proxy = new NginxProxy(process, dir, port);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException("nginx exited: " + await process.StandardError.ReadToEndAsync());
            try { if ((await http.GetAsync(proxy.Url + "/health/live")).IsSuccessStatusCode) return proxy; }
            catch (HttpRequestException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException("nginx did not start");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
