namespace Authly.Proxy;

/// <summary>
/// What <see cref="SqlClassifier"/> decided: the scope class a statement needs, and a short reason
/// ("SELECT", "DDL (CREATE)", "function pg_read_file") that a 403 can show so the caller sees why.
/// </summary>
public sealed record SqlVerdict(SqlAccess Access, string Reason);
