namespace Authly.Proxy;

/// <summary>
/// The scope class an SQL statement needs at the PostgreSQL proxy. Ordered so that the highest class a
/// statement touches wins: a read that calls a writing function is a write.
/// </summary>
public enum SqlAccess
{
    Read,
    Write,
    Admin,
}
