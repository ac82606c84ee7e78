namespace Authly.Server.Http;

/// <summary>
/// The one place that writes an RFC 6750 §3 <c>WWW-Authenticate: Bearer</c> challenge. Callers decide
/// which parts apply (§3.1: no error code when the request carried no credentials); this only
/// formats them. The error description is a quoted-string whose §3 character set excludes <c>"</c>
/// and <c>\</c>, so those become <c>'</c> and <c>/</c>; error codes and scope tokens are written as given.
/// </summary>
public static class BearerChallenge
{
    /// <summary>The realm of the authorization server's own protected resources.</summary>
    public const string Realm = "authly";

    public static string Header(string? error = null, string? description = null, string? scope = null, string realm = Realm)
    {
        var header = $"Bearer realm=\"{realm}\"";
        if (error is not null) header += $", error=\"{error}\"";
        if (description is not null) header += $", error_description=\"{description.Replace("\"", "'").Replace("\\", "/")}\"";
        if (scope is not null) header += $", scope=\"{scope}\"";
        return header;
    }
}
