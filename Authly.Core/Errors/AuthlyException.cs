namespace Authly;

/// <summary>
/// The one error type for every failure that is not an RFC 6749 §5.2 OAuth error (those are
/// <see cref="OAuth.OAuthException"/>) and not throttling (<see cref="ThrottledException"/>): the admin
/// and account APIs, the token vault, the database proxies, the browser pages and the CLI.
/// Core throws it where a rule fails; each transport has one mapper that turns it into its own shape
/// (API JSON <c>{"detail","error_code"?,"field"?}</c>, an HTML page, a PostgreSQL ErrorResponse, a RESP
/// <c>-ERR</c>, a CLI exit code). Nothing catches it on the way out to re-translate it.
/// </summary>
/// <param name="status">The HTTP status that says what kind of failure it is (400, 401, 403, 404, 409, 415, 500, 502, 503); non-HTTP transports map it too.</param>
/// <param name="detail">Safe to show the caller.</param>
/// <param name="code">A stable machine-readable code (<c>NOT_FOUND</c>, <c>VAULT_NOT_CONFIGURED</c>, …), or null.</param>
public sealed class AuthlyException(int status, string detail, string? code = null) : Exception(detail)
{
    public int Status { get; } = status;
    public string Detail { get; } = detail;
    public string? Code { get; } = code;
    /// <summary>For the server log only; never leaves the server (an upstream's answer, a key id). Never a secret.</summary>
    public string? Private { get; init; }
    /// <summary>The request field at fault, when there is one.</summary>
    public string? Field { get; init; }
    /// <summary>Seconds for <c>Retry-After</c> (a 503 whose cause may pass).</summary>
    public int? RetryAfterSeconds { get; init; }
    /// <summary>The SQLSTATE a PostgreSQL-wire transport sends (the database proxy), e.g. 42501.</summary>
    public string? SqlState { get; init; }
    /// <summary>For a 403 of a bearer-protected resource: the scope that would have been enough (RFC 6750 §3).</summary>
    public string? RequiredScope { get; init; }

    public static AuthlyException BadRequest(string detail, string? field = null, string? code = null) => new(400, detail, code) { Field = field };
    /// <summary>A client registration, user account or profile field is invalid or taken: 400 naming the field.</summary>
    public static AuthlyException Validation(string detail, string field) => new(400, detail) { Field = field };
    public static AuthlyException NotFound(string what, string? code = null) => new(404, $"{what} not found", code);
    public static AuthlyException Forbidden(string detail, string? code = null) => new(403, detail, code);
    public static AuthlyException Conflict(string detail, string? code = null) => new(409, detail, code);
    public static AuthlyException UnsupportedMediaType(string detail) => new(415, detail);
}

/// <summary>
/// The caller is throttled: a rate limit (too many requests from an address) or an attempt guard (too many
/// wrong passwords or user codes). Every transport answers 429 (or its page) with <c>Retry-After</c>.
/// </summary>
/// <param name="retryAfterSeconds">When the caller may try again (at least 1).</param>
/// <param name="description">Safe to show the caller.</param>
/// <param name="oauthError">The RFC 6749 §5.2 code an OAuth endpoint answers with (invalid_request for a rate limit, invalid_grant for a locked password login).</param>
/// <param name="apiCode">The <c>error_code</c> the JSON APIs answer with.</param>
public sealed class ThrottledException(int retryAfterSeconds, string description, string oauthError = OAuth.OAuthErrors.InvalidRequest, string apiCode = ThrottledException.RateLimited)
    : Exception(description)
{
    public const string RateLimited = "RATE_LIMITED";
    public const string TooManyAttempts = "TOO_MANY_ATTEMPTS";

    public int RetryAfterSeconds { get; } = Math.Max(1, retryAfterSeconds);
    public string Description { get; } = description;
    public string OAuthError { get; } = oauthError;
    public string ApiCode { get; } = apiCode;
}
