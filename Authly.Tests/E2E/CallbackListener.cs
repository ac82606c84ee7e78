using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace Authly.Tests.E2E;

/// <summary>
/// The relying party's side of the browser: a tiny HTTP listener on its own loopback port that
/// records every request (the authorization response, the post-logout landing) and answers a page.
/// </summary>
public sealed class CallbackListener : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    public ConcurrentQueue<Uri> Requests { get; } = new();
    public string BaseUrl { get; }

    public CallbackListener(int port)
    {
        BaseUrl = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(BaseUrl + "/");
        _listener.Start();
        _ = Task.Run(LoopAsync);
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) when (_stop.IsCancellationRequested || !_listener.IsListening) { return; }
            catch (HttpListenerException) { continue; }
            Requests.Enqueue(context.Request.Url!);
            var page = Encoding.UTF8.GetBytes($"<!doctype html><html><head><title>RP {WebUtility.HtmlEncode(context.Request.Url!.AbsolutePath)}</title></head>" +
                                              "<body><h1 id=\"rp\">Relying party</h1></body></html>");
            context.Response.ContentType = "text/html; charset=utf-8";
            context.Response.ContentLength64 = page.Length;
            await context.Response.OutputStream.WriteAsync(page);
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        _stop.Dispose();
    }
}
