namespace Authly.Proxy;

/// <summary>
/// A command ready to send: the upper-case name from the allow-list (never the caller's spelling),
/// and the arguments with every key already prefixed for the caller's subject.
/// </summary>
public sealed record RedisPlan(string Command, RedisAccess Access, IReadOnlyList<byte[]> Args);
