namespace Authly.Tests.Infrastructure;

/// <summary>The system clock moved by a fixed offset: a node whose clock runs ahead (or behind). It advances in real time.</summary>
public sealed class ShiftedClock(TimeSpan offset) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => TimeProvider.System.GetUtcNow() + offset;
}
