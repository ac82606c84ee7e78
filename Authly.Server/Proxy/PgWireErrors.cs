using Authly.Proxy;

namespace Authly.Server.Proxy;

/// <summary>
/// The PostgreSQL wire's side of the one error model: the errors only this wire has (protocol violations, unknown
/// statements and portals, cancellation), as <see cref="AuthlyException"/>s that carry their SQLSTATE, and the
/// one mapping from any <see cref="AuthlyException"/> to the SQLSTATE of its ErrorResponse
/// (<see cref="PgWireWriter.ErrorResponse"/> writes it, ERROR or FATAL).
/// </summary>
internal static class PgWireErrors
{
    /// <summary>
    /// The SQLSTATE a client gets: the one the error carries (PostgreSQL's own for a failed statement, or a
    /// wire error's), else the class that matches its status.
    /// </summary>
    public static string SqlStateOf(AuthlyException e) => e.SqlState ?? e.Status switch
    {
        400 => "42601", // syntax_error: the classifier refused the text, or the request was malformed
        401 => "28P01", // invalid_password: the password is the access token
        403 => "42501", // insufficient_privilege
        408 => "57014", // query_canceled: the statement timeout
        413 => "54000", // program_limit_exceeded
        503 => "08006", // connection_failure: Authly or the database cannot be reached
        _ => "XX000",   // internal_error
    };

    /// <summary>The client broke the protocol (08P01); the stream cannot be trusted any more.</summary>
    public static AuthlyException Protocol(string message) => Wire(400, "08P01", message);
    /// <summary>A request the proxy does not support (0A000 feature_not_supported).</summary>
    public static AuthlyException NotSupported(string message) => Wire(400, "0A000", message);
    /// <summary>A message bigger than the session accepts (54000 program_limit_exceeded).</summary>
    public static AuthlyException TooLong(string message) => Wire(413, "54000", message);
    /// <summary>A prepared statement or portal name that is unknown or taken (26000, 34000, 42P05, 42P03).</summary>
    public static AuthlyException Name(string sqlState, string message) => Wire(400, sqlState, message);
    /// <summary>The token is fine but this connection may not use it (28000 invalid_authorization_specification).</summary>
    public static AuthlyException NotFromHere(string message) => Wire(403, "28000", message);
    /// <summary>The session's token expired or was revoked mid-session: a 401, so the connection ends.</summary>
    public static AuthlyException TokenExpired() =>
        new(401, "the access token has expired or was revoked; reconnect with a new one", ProxyErrors.InvalidTokenCode);
    /// <summary>A CancelRequest stopped the statement (57014 query_canceled).</summary>
    public static AuthlyException Canceled() => Wire(408, "57014", "canceling statement due to user request");
    public static AuthlyException Internal() => Wire(500, "XX000", "internal error in the Authly proxy");

    private static AuthlyException Wire(int status, string sqlState, string message) => new(status, message) { SqlState = sqlState };
}
