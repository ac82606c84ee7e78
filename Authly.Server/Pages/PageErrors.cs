using System.Globalization;
using Authly.OAuth;

namespace Authly.Server.Pages;

/// <summary>
/// The one error mapper of the browser pages (authorize, login, device, logout). Every page route
/// carries <see cref="WithPageErrors{TBuilder}"/>; handlers throw and never catch:
/// <list type="bullet">
/// <item><see cref="AuthlyException"/> → an error page with its status (and Retry-After when it has one);</item>
/// <item><see cref="OAuthException"/> (a malformed request, before any redirect URI is trusted) → the "Invalid request" page, 400;</item>
/// <item><see cref="ThrottledException"/> → 429 with Retry-After;</item>
/// <item>a dependency outage → passes on to <see cref="Http.OutageResponses"/>, which renders <see cref="Unavailable"/>.</item>
/// </list>
/// A refusal that belongs to the form the user is on (a wrong password, a lockout, a rejected new
/// password, too many user codes) is shown on that form: the handler names the form with
/// <see cref="OnRefusal"/> before the call that may refuse, and the mapper renders it with the message and status.
/// </summary>
public static class PageErrors
{
    /// <summary>What the user is told: the message, the status, and whether it is throttling (429 with Retry-After).</summary>
    public sealed record Refusal(string Title, string Message, int Status, int? RetryAfterSeconds)
    {
        public bool Throttled => Status == StatusCodes.Status429TooManyRequests;
    }

    private const string FormPageKey = "authly.page-errors.form";

    public static TBuilder WithPageErrors<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (ctx, next) =>
        {
            try { return await next(ctx); }
            catch (Exception e) when (RefusalOf(e) is { } refusal) { return Render(ctx.HttpContext, refusal); }
        });

    /// <summary>From here on, a refusal is shown on this form (the page the user is on); <paramref name="page"/> may return null to fall back to the error page.</summary>
    public static void OnRefusal(HttpContext http, Func<Refusal, IResult?> page) => http.Items[FormPageKey] = page;

    /// <summary>The page a browser gets when a dependency is down (503; the caller sets Retry-After).</summary>
    public static IResult Unavailable() =>
        Html.Error("Temporarily unavailable", "The service is temporarily unavailable. Please try again in a few seconds.", StatusCodes.Status503ServiceUnavailable);

    private static IResult Render(HttpContext http, Refusal refusal)
    {
        if (refusal.RetryAfterSeconds is { } retry) http.Response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
        var form = http.Items.TryGetValue(FormPageKey, out var page) ? ((Func<Refusal, IResult?>)page!)(refusal) : null;
        return form ?? Html.Error(refusal.Title, refusal.Message, refusal.Status);
    }

    /// <summary>The refusal an exception means, or null for anything else (an outage, a bug), which is not the pages' to answer.</summary>
    private static Refusal? RefusalOf(Exception e) => e switch
    {
        ThrottledException t => new("Too many requests", t.Description, StatusCodes.Status429TooManyRequests, t.RetryAfterSeconds),
        OAuthException o => new("Invalid request", o.Description, StatusCodes.Status400BadRequest, null),
        AuthlyException a => new(TitleOf(a.Status), a.Detail, a.Status, a.RetryAfterSeconds),
        _ => null,
    };

    private static string TitleOf(int status) => status switch
    {
        StatusCodes.Status400BadRequest => "Invalid request",
        StatusCodes.Status401Unauthorized => "Sign-in required",
        StatusCodes.Status403Forbidden => "Not allowed",
        StatusCodes.Status404NotFound => "Not found",
        StatusCodes.Status409Conflict => "Conflict",
        StatusCodes.Status503ServiceUnavailable => "Temporarily unavailable",
        _ => "Something went wrong",
    };
}
