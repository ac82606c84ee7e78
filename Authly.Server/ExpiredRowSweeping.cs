using Authly.Storage;

namespace Authly.Server;

/// <summary>Runs this node's <see cref="ExpiredRowSweeper"/> loop for the life of the server (it never throws: a failed round is logged and retried).</summary>
public sealed class ExpiredRowSweeping(ExpiredRowSweeper sweeper) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => sweeper.RunAsync(stoppingToken);
}
