using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Authly.Telemetry;
using Authly.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace Authly.Tests.Health;

/// <summary>
/// Issue 15 (OpenTelemetry): the spans of a token request, authorize and introspection, with their parents, as the
/// server's own source list (<see cref="Server.Metrics.AuthlyTelemetry.AddAuthlySources"/>) records them.
/// </summary>
[TestFixture, Category("Operations")]
public sealed class TracingTests : AppFixture
{
    private SpanRecorder _spans = null!;

    [OneTimeSetUp]
    public void StartRecording() => _spans = new SpanRecorder();

    [OneTimeTearDown]
    public void StopRecording() => _spans.Dispose();

    private HttpClient Traced(string traceParent)
    {
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.Add("traceparent", traceParent);
        return client;
    }

    [Test, Description("Issue15_OpenTelemetry: a token request is a server span > 'token password' span > Npgsql command spans")]
    public async Task Issue15_TokenRequest_HasAGrantSpan_UnderTheRequest_WithTheDatabaseCallsUnderIt()
    {
        var user = await _app.CreateUserAsync();
        var (traceParent, traceId, remoteParent) = SpanRecorder.NewTrace();
        var response = await Traced(traceParent).PostAsync("/api/v1/oauth/token",
            AuthlyApp.Form(("grant_type", "password"), ("username", user.Username), ("password", user.Password)));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var spans = await _spans.SpansAsync(traceId, s => s.Any(a => a.DisplayName == "token password") && s.Any(a => a.Kind == ActivityKind.Server));
        var names = string.Join(", ", spans.Select(s => $"{s.Source.Name}:{s.DisplayName}"));
        var server = spans.SingleOrDefault(s => s.Kind == ActivityKind.Server);
        var token = spans.SingleOrDefault(s => s.DisplayName == "token password");
        Assert.That(server, Is.Not.Null, names);
        Assert.That(token, Is.Not.Null, names);
        Assert.That(server!.ParentSpanId, Is.EqualTo(remoteParent), "the request continues the caller's trace");
        Assert.That(token!.Source.Name, Is.EqualTo(AuthlyTracing.SourceName));
        Assert.That(token.ParentSpanId, Is.EqualTo(server.SpanId));
        Assert.That(token.GetTagItem("oauth.grant_type"), Is.EqualTo("password"));
        Assert.That(token.Status, Is.Not.EqualTo(ActivityStatusCode.Error));
        // The user lookup and the refresh-token insert are PostgreSQL commands inside the grant.
        bool Under(Activity s, Activity ancestor) =>
            s.ParentSpanId == ancestor.SpanId || spans.FirstOrDefault(p => p.SpanId == s.ParentSpanId) is { } p && Under(p, ancestor);
        Assert.That(spans.Where(s => s.Source.Name == "Npgsql").Any(s => Under(s, token)), Is.True, names);
    }

    [Test, Description("Issue15_OpenTelemetry: a refused grant's span is marked failed with the OAuth error code; an unknown grant_type is not a span name")]
    public async Task Issue15_FailedGrant_IsAnErrorSpan_AndAnUnknownGrantTypeIsNotEchoedInTheName()
    {
        var (traceParent, traceId, _) = SpanRecorder.NewTrace();
        var client = Traced(traceParent);
        await client.PostAsync("/api/v1/oauth/token", AuthlyApp.Form(("grant_type", "password"), ("username", "nobody-" + Guid.NewGuid().ToString("N")), ("password", "x")));
        await client.PostAsync("/api/v1/oauth/token", AuthlyApp.Form(("grant_type", "made-up-grant-name")));

        var spans = await _spans.SpansAsync(traceId, s => s.Count(a => a.DisplayName.StartsWith("token ", StringComparison.Ordinal)) == 2);
        var failed = spans.Single(s => s.DisplayName == "token password");
        Assert.That(failed.Status, Is.EqualTo(ActivityStatusCode.Error));
        Assert.That(failed.GetTagItem("error.type"), Is.EqualTo("invalid_grant"));
        Assert.That(spans.Single(s => s.DisplayName == "token other").GetTagItem("error.type"), Is.EqualTo("unsupported_grant_type"));
        Assert.That(spans.Any(s => s.DisplayName.Contains("made-up", StringComparison.Ordinal)), Is.False);
    }

    [Test, Description("Issue15_OpenTelemetry: authorize and introspection each have their span, with the decision and the result")]
    public async Task Issue15_AuthorizeAndIntrospection_HaveSpans()
    {
        var clientId = await BrowserFlow.CreatePublicClientAsync(_app, ["https://rp.example/cb"]);
        var token = AuthlyApp.Str(await _app.PasswordTokenAsync(), "access_token");
        var (traceParent, traceId, _) = SpanRecorder.NewTrace();
        var client = Traced(traceParent);
        var login = await client.GetAsync(new BrowserFlow.Request(clientId, "https://rp.example/cb").Url);
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var introspected = await client.PostAsync("/api/v1/oauth/introspect", AuthlyApp.Form(("token", token)));
        Assert.That(await introspected.Content.ReadAsStringAsync(), Does.Contain("\"active\":true"));

        var spans = await _spans.SpansAsync(traceId, s => s.Any(a => a.DisplayName == "authorize") && s.Any(a => a.DisplayName == "introspect"));
        Assert.That(spans.Single(s => s.DisplayName == "authorize").GetTagItem("authly.authorize.decision"), Is.EqualTo("ShowLogin"));
        Assert.That(spans.Single(s => s.DisplayName == "introspect").GetTagItem("oauth.token.active"), Is.EqualTo(true));
    }

    [Test, Description("Issue15_OpenTelemetry: without OTEL_EXPORTER_OTLP_ENDPOINT no tracer provider is registered (no listener: spans cost nothing)")]
    public void Issue15_TracingIsOff_WithoutAnOtlpEndpoint() =>
        Assert.That(_app.Services.GetService<TracerProvider>(), Is.Null);
}

/// <summary>Issue 15: with OTEL_EXPORTER_OTLP_ENDPOINT set, spans leave the process over OTLP (here: to a local socket that records what arrives).</summary>
[TestFixture, Category("Operations")]
public sealed class OtlpExportTests
{
    private TcpListener _collector = null!;
    private readonly List<string> _requestLines = [];
    private Task _accepting = Task.CompletedTask;
    private AuthlyApp _app = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _collector = new TcpListener(IPAddress.Loopback, 0);
        _collector.Start();
        _accepting = AcceptAsync();
        var port = ((IPEndPoint)_collector.LocalEndpoint).Port;
        _app = await AuthlyApp.StartAsync(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_SERVICE_NAME"] = "authly-otlp-test",
        });
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _app.Dispose();
        _collector.Stop();
    }

    /// <summary>A minimal HTTP/1.1 collector: reads each request's head and body, answers 200 with an empty body.</summary>
    private async Task AcceptAsync()
    {
        while (true)
        {
            TcpClient connection;
            try { connection = await _collector.AcceptTcpClientAsync(); }
            catch (Exception e) when (e is ObjectDisposedException or SocketException) { return; }
            _ = ServeAsync(connection);
        }
    }

    private async Task ServeAsync(TcpClient connection)
    {
        using var _ = connection;
        var stream = connection.GetStream();
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var head = new StringBuilder();
                while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var n = await stream.ReadAsync(buffer.AsMemory(0, 1));
                    if (n == 0) return;
                    head.Append((char)buffer[0]);
                }
                var lines = head.ToString().Split("\r\n");
                lock (_requestLines) _requestLines.Add(lines[0]);
                var length = lines.Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                    .Select(p => int.Parse(p[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
                for (var read = 0; read < length;)
                {
                    var n = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(buffer.Length, length - read)));
                    if (n == 0) return;
                    read += n;
                }
                await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
            }
        }
        catch (IOException) { }
    }

    [Test, Description("Issue15_OpenTelemetry: OTEL_EXPORTER_OTLP_ENDPOINT set: a token request's spans are POSTed to <endpoint>/v1/traces")]
    public async Task Issue15_WithAnOtlpEndpoint_SpansArePostedToIt()
    {
        Assert.That(_app.Services.GetService<TracerProvider>(), Is.Not.Null);
        var (id, secret) = await _app.CreateConfidentialClientAsync();
        var ok = await _app.PostFormAsync("/api/v1/oauth/token", AuthlyApp.Basic(id, secret!), ("grant_type", "client_credentials"));
        Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var arrived = await Eventually.TrueAsync(() =>
        {
            lock (_requestLines) return Task.FromResult(_requestLines.Any(l => l.StartsWith("POST /v1/traces ", StringComparison.Ordinal)));
        }, TimeSpan.FromSeconds(20));
        lock (_requestLines) Assert.That(arrived, Is.True, "requests seen: " + string.Join(" | ", _requestLines));
    }
}
