namespace Authly.Proxy;

/// <summary>
/// What a proxied Redis command needs: <see cref="Read"/> is granted by scope <c>cache:read</c>,
/// <see cref="Write"/> by <c>cache:write</c>.
/// </summary>
public enum RedisAccess
{
    Read,
    Write,
}
