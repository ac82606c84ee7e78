namespace Authly.Proxy;

/// <summary>
/// A Redis command the proxy will not send: not on the allow-list, wrong arity, or a refused option.
/// The message names only the command and option, never key data, so it is safe to show the caller.
/// </summary>
public sealed class RedisCommandRejectedException(string message) : Exception(message);
