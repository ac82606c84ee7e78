namespace Authly.Tests.Infrastructure;

/// <summary>
/// The system clock plus an offset: time flows as it really does (timers, periodic re-reads), but this node reads it
/// as a node whose clock runs ahead would, and a test can jump it forward (e.g. past a cache's lifetime).
/// </summary>
public sealed class ShiftedClock(TimeSpan offset) : TimeProvider
{
    private long _offsetTicks = offset.Ticks;
    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;
    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
