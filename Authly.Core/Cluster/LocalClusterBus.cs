using System.Collections.Concurrent;

namespace Authly.Cluster;

public sealed class LocalClusterBus : IClusterBus
{
    private readonly ConcurrentDictionary<string, ImmutableHandlers> _handlers = new();
    private sealed record ImmutableHandlers(Action<string>[] Items);

    public Task PublishAsync(string topic, string message)
    {
        if (_handlers.TryGetValue(topic, out var h))
            foreach (var handler in h.Items) handler(message);
        return Task.CompletedTask;
    }

    public void Subscribe(string topic, Action<string> handler) =>
        _handlers.AddOrUpdate(topic, _ => new([handler]), (_, h) => new([.. h.Items, handler]));
}
