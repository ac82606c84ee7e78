namespace Authly.Cluster;

/// <summary>
/// Tells every node that something cached changed (a client, the signing keys, a revoked
/// token). Redis pub/sub when configured; in-process otherwise. Messages are hints: each cache
/// also expires on its own, so a lost message costs staleness bounded by that expiry.
/// </summary>
public interface IClusterBus
{
    Task PublishAsync(string topic, string message);
    void Subscribe(string topic, Action<string> handler);
}
