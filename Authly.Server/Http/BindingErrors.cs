namespace Authly.Server.Http;

/// <summary>
/// A query or route value that does not bind (limit=abc, include_inactive=maybe) becomes a 400
/// {"detail"} naming the parameter, like every other API error, instead of the framework's empty
/// 400 in production or its exception page in development. Written by the API mapper (<see cref="ApiErrorFilter.Write"/>),
/// from the pipeline's one try/catch (<see cref="OutageResponses"/>): a middleware of its own cost every request an async
/// frame.
/// </summary>
public static class BindingErrors
{
    public static IServiceCollection AddAuthlyBindingErrors(this IServiceCollection services) =>
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

    // The message names the parameter and the value, e.g. Failed to bind parameter "int? limit" from "abc".
    public static Task WriteAsync(HttpContext http, BadHttpRequestException e) =>
        ApiErrorFilter.Write(new AuthlyException(e.StatusCode, e.Message)).ExecuteAsync(http);
}
