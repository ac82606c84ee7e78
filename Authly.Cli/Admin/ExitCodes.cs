namespace Authly.Cli.Admin;

/// <summary>The exit codes every admin command uses (README "CLI").</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int GeneralError = 1;
    /// <summary>Not logged in, token refused or expired, and command-line usage errors.</summary>
    public const int Authentication = 2;
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
}
