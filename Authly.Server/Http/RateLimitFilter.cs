using Authly.Counters;

namespace Authly.Server.Http;

/// <summary>Per-IP rate limit on a route (token, introspect, revoke, registration, vault). Sits inside the route's error filter, which maps its <see cref="ThrottledException"/>.</summary>
public sealed class RateLimitFilter(RateLimiter limiter, ClientAddress address, string bucket) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        await limiter.CheckAsync(bucket, address.Of(context.HttpContext)?.ToString(), context.HttpContext.RequestAborted);
        return await next(context);
    }
}
