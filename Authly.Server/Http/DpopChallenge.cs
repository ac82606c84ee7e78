namespace Authly.Server.Http;

/// <summary>
/// The one place that writes an RFC 9449 §7.1 <c>WWW-Authenticate: DPoP</c> challenge: the error, its description (the
/// same quoted-string rule as <see cref="BearerChallenge"/>) and the proof algorithms accepted.
/// </summary>
public static class DpopChallenge
{
    public static string Header(string? error = null, string? description = null)
    {
        var header = "DPoP";
        var parts = new List<string>(3);
        if (error is not null) parts.Add($"error=\"{error}\"");
        if (description is not null) parts.Add($"error_description=\"{description.Replace("\"", "'").Replace("\\", "/")}\"");
        parts.Add($"algs=\"{string.Join(' ', OAuth.Dpop.DpopProofValidator.Algorithms)}\"");
        return header + " " + string.Join(", ", parts);
    }
}
