using Authly.Sessions;

namespace Authly.Server;

/// <summary>Runs this node's <see cref="BackchannelLogout"/> delivery loop for the life of the server (it never throws).</summary>
public sealed class BackchannelLogoutSending(BackchannelLogout logout) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => logout.RunAsync(stoppingToken);
}
