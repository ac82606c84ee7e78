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

    /// <summary>
    /// PostgreSQL answers the statement with rows: a query (SELECT, VALUES, TABLE, SHOW, EXPLAIN, or WITH ... SELECT)
    /// or a data-modifying statement with its own RETURNING clause. A write without RETURNING answers a command tag only.
    /// </summary>
    public bool ReturnsRows { get; init; }
}
