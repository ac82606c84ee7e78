namespace Authly.Tests.Infrastructure;

/// <summary>Polls a condition that becomes true through real asynchrony (pub/sub, a background sync), up to a deadline.</summary>
public static class Eventually
{
    public static async Task<bool> TrueAsync(Func<Task<bool>> condition, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            if (await condition()) return true;
            if (DateTime.UtcNow >= deadline) return false;
            await Task.Delay(20);
        }
    }
}
