namespace Authly.Proxy;

/// <summary>
/// The SQL text cannot be classified safely (empty, several statements, unterminated quoting, too long), so
/// the proxy refuses it before it reaches PostgreSQL. The message is safe to show the caller.
/// </summary>
public sealed class SqlRejectedException(string message) : Exception(message);
