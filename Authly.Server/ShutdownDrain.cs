using Authly.Configuration;

namespace Authly.Server;

/// <summary>
/// Graceful shutdown behind a load balancer (issue 12 finding 8). On SIGTERM, before the listener
/// stops: /health/ready answers 503 at once, so the balancer takes this node out, and the node
/// keeps serving every request it is sent for AUTHLY_SHUTDOWN_DRAIN_SECONDS (with
/// <c>Connection: close</c>, so keep-alive clients reconnect elsewhere). Only then does Kestrel
/// stop accepting and finish what is in flight. Closing the listener at once, as before, refused
/// the requests a balancer still sent in the seconds before its next probe.
/// </summary>
public sealed class ShutdownDrain(AuthlyOptions options, ILogger<ShutdownDrain> log) : IHostedLifecycleService
{
    /// <summary>Time, after the drain, for requests in flight: above the database command timeout, so a slow one still completes.</summary>
    public static readonly TimeSpan InFlightGrace = TimeSpan.FromSeconds(15);

    private volatile bool _draining;

    public bool Draining => _draining;

    // Lifecycle services stop before any hosted service's StopAsync, so the listener is still open here.
    public async Task StoppingAsync(CancellationToken ct)
    {
        _draining = true;
        if (options.ShutdownDrain <= TimeSpan.Zero) return;
        log.LogInformation("Shutting down: /health/ready answers 503; serving for {Seconds} s more (AUTHLY_SHUTDOWN_DRAIN_SECONDS).",
            options.ShutdownDrainSeconds);
        try { await Task.Delay(options.ShutdownDrain, ct); }
        catch (OperationCanceledException) { } // the host's shutdown timeout ran out: stop now
    }

    public Task StartingAsync(CancellationToken ct) => Task.CompletedTask;
    public Task StartAsync(CancellationToken ct) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken ct) => Task.CompletedTask;
    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken ct) => Task.CompletedTask;
}
