namespace Authly.Proxy;

/// <summary>
/// The database proxies' failures, as <see cref="AuthlyException"/>s: the status says what kind of failure it is,
/// <see cref="AuthlyException.Detail"/> is the message the caller sees on every wire, <see cref="AuthlyException.Code"/>
/// is the RFC 6750 §3.1 error code of a 401/403 (for <c>WWW-Authenticate</c>), <see cref="AuthlyException.RequiredScope"/>
/// the scope that would have been enough, and <see cref="AuthlyException.SqlState"/> the SQLSTATE a PostgreSQL-wire
/// client gets when it is not the one its status stands for. Each wire has one mapper: <c>ProxyServer</c> (HTTP
/// <c>{"error": …}</c>), <c>PgWireErrors</c> (ErrorResponse), <c>RespErrors</c> (<c>-ERR</c>/<c>-NOAUTH</c>/<c>-NOPERM</c>).
/// </summary>
public static class ProxyErrors
{
    public const string MissingAuthorization = "Missing or invalid Authorization header";
    public const string InvalidToken = "Invalid or expired token";
    /// <summary>RFC 9449 §7.1: a DPoP-bound token without its proof (as Bearer, or as a wire password, which carries none).</summary>
    public const string DpopBoundToken = "This token is DPoP-bound: present it with 'Authorization: DPoP' and a DPoP proof";

    /// <summary>RFC 6750 §3.1 error codes.</summary>
    public const string InvalidRequest = "invalid_request", InvalidTokenCode = "invalid_token", InsufficientScope = "insufficient_scope";

    /// <summary>The code of <see cref="UnsafeDatabaseRole"/>: `authly proxy postgres` refuses to start.</summary>
    public const string UnsafeDatabaseRoleCode = "UNSAFE_DATABASE_ROLE";

    public static AuthlyException MissingAuth() => new(401, MissingAuthorization, InvalidRequest);
    public static AuthlyException BadToken() => new(401, InvalidToken, InvalidTokenCode);
    public static AuthlyException DpopBound() => new(401, DpopBoundToken, InvalidTokenCode);
    /// <summary>The caller lacks <paramref name="scope"/> (RFC 6750 §3.1 insufficient_scope, with the scope that would do).</summary>
    public static AuthlyException Scope(string scope, string message) => new(403, message, InsufficientScope) { RequiredScope = scope };
    /// <summary>Refused for everyone, whatever the scopes (a command or statement the proxy never relays).</summary>
    public static AuthlyException Forbidden(string message) => new(403, message, InsufficientScope);
    /// <summary>The caller's input: malformed, unclassifiable or failed SQL, a bad Redis command; <paramref name="sqlState"/> when PostgreSQL said which.</summary>
    public static AuthlyException BadRequest(string message, string? sqlState = null) => new(400, message) { SqlState = sqlState };
    /// <summary>The result is over the row or size limit (or the body over the body limit): refused whole.</summary>
    public static AuthlyException TooLarge(string message) => new(413, message);
    public static AuthlyException StatementTimeout(string message) => new(408, message);
    /// <summary>Authly, the database or Redis cannot be reached: fail closed.</summary>
    public static AuthlyException Unavailable(string message) => new(503, message);
    public static AuthlyException UnsupportedMediaType(string message) => new(415, message);

    /// <summary>
    /// `authly proxy postgres` must not run with this login or --role (a superuser, BYPASSRLS, rights on Authly's
    /// own tables): the message lists every problem found and the SQL that sets the roles up properly.
    /// </summary>
    public static AuthlyException UnsafeDatabaseRole(string message) => new(409, message, UnsafeDatabaseRoleCode);
}
