using Authly.Tokens;

namespace Authly.Server;

/// <summary>Runs this node's <see cref="SigningKeyRotation"/> loop for the life of the server (it never throws: a failed round is logged and retried).</summary>
public sealed class SigningKeyRotating(SigningKeyRotation rotation) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => rotation.RunAsync(stoppingToken);
}
