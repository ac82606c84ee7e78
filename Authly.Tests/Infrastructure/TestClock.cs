namespace Authly.Tests.Infrastructure;

/// <summary>A clock tests move by hand (Microsoft.Extensions.TimeProvider.Testing is not restorable here).</summary>
public sealed class TestClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;
    public override DateTimeOffset GetUtcNow() => _now;
    public void Advance(TimeSpan by) => _now += by;
}
