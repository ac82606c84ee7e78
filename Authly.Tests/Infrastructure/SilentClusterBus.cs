using Authly.Cluster;

namespace Authly.Tests.Infrastructure;

/// <summary>
/// A cluster bus whose announcements never arrive: IClusterBus allows lost messages ("hints"), so
/// a store must stay correct on its own node without them, and other nodes within their cache time.
/// </summary>
public sealed class SilentClusterBus : IClusterBus
{
    public Task PublishAsync(string topic, string message) => Task.CompletedTask;
    public void Subscribe(string topic, Action<string> handler) { }
}
