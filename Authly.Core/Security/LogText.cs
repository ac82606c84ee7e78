using System.Text;

namespace Authly.Security;

/// <summary>
/// Caller-supplied text made safe for a log line: control characters (CR, LF, ESC…) and Unicode
/// line separators become \uXXXX, and the length is capped, so a client_id or path cannot forge
/// log entries or terminal escapes in a plain-text log.
/// </summary>
public static class LogText
{
    public const int MaxLength = 512;

    public static string Safe(string? text)
    {
        if (text is null) return "";
        var needs = text.Length > MaxLength;
        foreach (var c in text)
            if (IsUnsafe(c)) { needs = true; break; }
        if (!needs) return text;
        var sb = new StringBuilder(Math.Min(text.Length, MaxLength) + 16);
        foreach (var c in text.AsSpan(0, Math.Min(text.Length, MaxLength)))
            if (IsUnsafe(c)) sb.Append("\\u").Append(((int)c).ToString("x4"));
            else sb.Append(c);
        if (text.Length > MaxLength) sb.Append("…");
        return sb.ToString();
    }

    private static bool IsUnsafe(char c) => char.IsControl(c) || c is '\u2028' or '\u2029' or '\u0085';
}
