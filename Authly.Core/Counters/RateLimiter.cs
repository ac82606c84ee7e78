using Authly.Configuration;
using Authly.OAuth;

namespace Authly.Counters;

/// <summary>RATE_LIMIT_MAX_REQUESTS per RATE_LIMIT_WINDOW_SECONDS per client IP and endpoint group; 0 disables.</summary>
public sealed class RateLimiter(ICounterStore counters, AuthlyOptions options)
{
    public event Action? Limited;

    /// <summary>Throws <see cref="ThrottledException"/> (429 with Retry-After; invalid_request, RATE_LIMITED) when the caller is over the limit.</summary>
    public async Task CheckAsync(string bucket, string? clientIp, CancellationToken ct)
    {
        if (options.RateLimitMaxRequests == 0) return;
        var (count, remaining) = await counters.HitAsync($"{bucket}:{clientIp ?? "unknown"}",
            TimeSpan.FromSeconds(options.RateLimitWindowSeconds), ct);
        if (count > options.RateLimitMaxRequests)
        {
            Limited?.Invoke();
            throw new ThrottledException((int)Math.Ceiling(remaining.TotalSeconds), "Rate limit exceeded. Try again later.",
                OAuthErrors.InvalidRequest, ThrottledException.RateLimited);
        }
    }
}
