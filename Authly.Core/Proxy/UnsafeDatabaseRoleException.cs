namespace Authly.Proxy;

/// <summary>
/// `authly proxy postgres` refuses to start: its login or --role would let callers' statements run with
/// rights they must not have (a superuser, BYPASSRLS, rights on Authly's own tables). The message lists
/// every problem found and the SQL that sets the roles up properly.
/// </summary>
public sealed class UnsafeDatabaseRoleException(string message) : Exception(message);
