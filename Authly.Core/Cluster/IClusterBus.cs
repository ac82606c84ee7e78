namespace Authly.Cluster;

/// <summary>
/// Tells every node that something cached changed (a client, the signing keys, a revoked
/// token). Redis pub/sub when configured; in-process otherwise. Messages are hints: the record
/// is always in PostgreSQL and each cache re-reads it on its own, so a lost message costs
/// staleness bounded by that re-read. Publishing is best effort and never throws: a change that
/// is committed must not be reported as failed because the announcement could not be sent.
/// </summary>
public interface IClusterBus
{
    /// <summary>Announces a change; delivered to this node's own subscribers in every case, to other nodes when reachable.</summary>
    Task PublishAsync(string topic, string message);
    void Subscribe(string topic, Action<string> handler);
}
