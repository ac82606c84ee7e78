namespace Authly.Server.Http;

/// <summary>A non-OAuth API error: {"detail", "error_code"?, "field"?} with a status.</summary>
public sealed class ApiException(int status, string detail, string? errorCode = null, string? field = null) : Exception(detail)
{
    public int Status { get; } = status;
    public string Detail { get; } = detail;
    public string? ErrorCode { get; } = errorCode;
    public string? Field { get; } = field;

    public static ApiException NotFound(string what) => new(StatusCodes.Status404NotFound, $"{what} not found");
    public static ApiException BadRequest(string detail, string? field = null) => new(StatusCodes.Status400BadRequest, detail, field: field);
}
