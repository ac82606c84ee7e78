namespace Authly.Proxy;

/// <summary>
/// What <see cref="SqlClassifier"/> decided: the scope class a statement needs, and a short reason
/// ("SELECT", "DDL (CREATE)", "function pg_read_file") that a 403 can show so the caller sees why.
/// </summary>
public sealed record SqlVerdict(SqlAccess Access, string Reason)
{
    /// <summary>
    /// COPY ... FROM STDIN or TO STDOUT: its rows travel in the COPY sub-protocol, which the proxy does not
    /// relay, so it is refused with a hint instead of being run.
    /// </summary>
    public bool IsCopyStream { get; init; }
}
