using System.Text.Json.Nodes;

namespace Authly.Cli.Admin;

/// <summary>
/// The exit codes every command uses (README "CLI"), and the CLI's one error mapper: a failed API answer
/// (admin commands) or a Core <see cref="AuthlyException"/> (commands that work on the database directly)
/// becomes a <see cref="CliException"/>: one "error: …" line and its exit code.
/// </summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int GeneralError = 1;
    /// <summary>Not logged in, token refused or expired, and command-line usage errors.</summary>
    public const int Authentication = 2;
    /// <summary>Bad arguments or configuration of a command that works on the database directly (the same code as <see cref="Authentication"/>).</summary>
    public const int Usage = Authentication;
    public const int PermissionDenied = 3;
    public const int NotFound = 4;
    public const int Validation = 5;

    /// <summary>HTTP status → exit code: 401 → 2, 403 → 3, 404 → 4, 400/409/413/415/422 → 5, anything else → 1.</summary>
    public static int ForStatus(int status) => status switch
    {
        401 => Authentication,
        403 => PermissionDenied,
        404 => NotFound,
        400 or 409 or 413 or 415 or 422 => Validation,
        _ => GeneralError,
    };

    /// <summary>A non-2xx answer of the Authly API: its detail (API) or error_description (OAuth), and the exit code for its status.</summary>
    public static CliException Of(HttpResponseMessage response, JsonNode? body)
    {
        var status = (int)response.StatusCode;
        string? Field(string name) => body is JsonObject o && o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        var message = Field("detail") ?? Field("error_description") ?? Field("error") ?? $"HTTP {status} {response.ReasonPhrase}";
        // A refused password login is an authentication failure, whatever its HTTP status (400 invalid_grant, 429 locked).
        var code = Field("error") == "invalid_grant" ? Authentication : ForStatus(status);
        return new CliException(code, WithField(message, Field("field")));
    }

    /// <summary>A Core failure of a command that works on the database directly: 1 when the server side failed (5xx), else 2 (the arguments).</summary>
    public static CliException Of(AuthlyException e) =>
        new(e.Status >= 500 ? GeneralError : Usage, WithField(e.Detail, e.Field));

    private static string WithField(string message, string? field) =>
        field is not null && !message.Contains(field, StringComparison.Ordinal) ? $"{message} (field: {field})" : message;
}
