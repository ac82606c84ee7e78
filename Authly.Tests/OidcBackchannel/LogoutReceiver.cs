using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Authly.Tests.OidcBackchannel;

/// <summary>
/// A relying party's back-channel logout endpoint (OIDC Back-Channel Logout 1.0 §2.5, §2.6): a real socket
/// (HttpListener on 127.0.0.1), recording every POST's logout_token. <see cref="Validate"/> is what a receiver
/// must check, against the JWKS Authly publishes.
/// </summary>
public sealed class LogoutReceiver : IDisposable
{
    public sealed record Received(string ContentType, string LogoutToken);

    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    public ConcurrentQueue<Received> Posts { get; } = new();
    public string Url { get; }
    /// <summary>What the receiver answers; a test turns it to 503 to play a receiver that is down.</summary>
    public volatile int Status = 200;

    public LogoutReceiver(int? port = null)
    {
        port ??= FreePort();
        Url = $"http://127.0.0.1:{port}/backchannel-logout";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _ = Task.Run(LoopAsync);
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            using var reader = new StreamReader(context.Request.InputStream);
            var body = await reader.ReadToEndAsync();
            var status = Status;
            if (status == 200)
            {
                var form = QueryHelpers.ParseQuery(body);
                Posts.Enqueue(new Received(context.Request.ContentType ?? "", form.TryGetValue("logout_token", out var t) ? t.ToString() : ""));
            }
            context.Response.StatusCode = status;
            context.Response.Headers["Cache-Control"] = "no-store";
            context.Response.Close();
        }
    }

    /// <summary>
    /// §2.6 logout token validation: signature by a key of the published JWKS, typ logout+jwt, iss, aud = our client,
    /// iat not in the future and recent, exp not passed, the back-channel logout event, sub or sid, and no nonce.
    /// Returns null when valid, else what failed.
    /// </summary>
    public static async Task<string?> Validate(string token, string jwksJson, string issuer, string clientId, DateTimeOffset now)
    {
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = issuer,
            ValidAudience = clientId,
            IssuerSigningKeys = new JsonWebKeySet(jwksJson).GetSigningKeys(),
            ValidTypes = ["logout+jwt"],
            ValidateLifetime = false, // checked below against the receiver's clock
        });
        if (!result.IsValid) return result.Exception?.GetType().Name ?? "invalid";
        var jwt = (JsonWebToken)result.SecurityToken;
        if (jwt.TryGetPayloadValue<object>("nonce", out _)) return "nonce present";
        if (!jwt.TryGetPayloadValue<long>("iat", out var iat) || !jwt.TryGetPayloadValue<long>("exp", out var exp)) return "no iat or exp";
        var nowSeconds = now.ToUnixTimeSeconds();
        if (exp <= nowSeconds) return "expired";
        if (iat > nowSeconds + 60 || iat < nowSeconds - 300) return "stale or future iat";
        if (!jwt.TryGetPayloadValue<string>("jti", out _)) return "no jti";
        var events = JsonNode.Parse(jwt.GetPayloadValue<object>("events").ToString()!) as JsonObject;
        if (events?["http://schemas.openid.net/event/backchannel-logout"] is not JsonObject) return "no back-channel logout event";
        if (!jwt.TryGetPayloadValue<string>("sid", out _) && !jwt.TryGetPayloadValue<string>("sub", out _)) return "neither sid nor sub";
        return null;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Close();
        _stop.Dispose();
    }
}
