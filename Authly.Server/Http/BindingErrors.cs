namespace Authly.Server.Http;

/// <summary>
/// A query or route value that does not bind (limit=abc, include_inactive=maybe) becomes a 400
/// {"detail"} naming the parameter, like every other API error, instead of the framework's empty
/// 400 in production or its exception page in development. Written by the API mapper (<see cref="ApiErrorFilter.Write"/>).
/// </summary>
public static class BindingErrors
{
    public static IServiceCollection AddAuthlyBindingErrors(this IServiceCollection services) =>
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

    public static IApplicationBuilder UseAuthlyBindingErrors(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        try { await next(http); }
        catch (BadHttpRequestException e) when (!http.Response.HasStarted)
        {
            // The message names the parameter and the value, e.g. Failed to bind parameter "int? limit" from "abc".
            await ApiErrorFilter.Write(new AuthlyException(e.StatusCode, e.Message)).ExecuteAsync(http);
        }
    });
}
