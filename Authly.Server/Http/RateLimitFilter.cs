using Authly.Counters;

namespace Authly.Server.Http;

/// <summary>Per-IP rate limit on an endpoint group (token, introspect, revoke, registration). Sits inside <see cref="OAuthErrorFilter"/>.</summary>
public sealed class RateLimitFilter(RateLimiter limiter, ClientAddress address, string bucket) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        await limiter.CheckAsync(bucket, address.Of(context.HttpContext)?.ToString(), context.HttpContext.RequestAborted);
        return await next(context);
    }
}
