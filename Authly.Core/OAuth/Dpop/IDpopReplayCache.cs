namespace Authly.OAuth.Dpop;

/// <summary>
/// RFC 9449 §11.1: a proof's jti is accepted once. Two implementations: <see cref="DpopReplayStore"/> (the server: Redis
/// shared by every node, PostgreSQL without it) and <see cref="InProcessDpopReplayCache"/> (a proxy process with no store).
/// </summary>
public interface IDpopReplayCache
{
    /// <summary>True the first time (key, jti) is seen within <paramref name="remember"/>; false for a replay.</summary>
    Task<bool> TryUseAsync(string jkt, string jti, TimeSpan remember, CancellationToken ct);
}
