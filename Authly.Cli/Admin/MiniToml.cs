namespace Authly.Cli.Admin;

/// <summary>
/// The TOML this CLI needs and no more: [section] headers, key = "string" | number | true/false,
/// comments. Keys come back as "section.key". Anything else is an error naming the line.
/// </summary>
public static class MiniToml
{
    public static Dictionary<string, string> Parse(string text, string fileName)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var section = "";
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = StripComment(raw).Trim();
            if (line.Length == 0) continue;
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = line[1..^1].Trim();
                if (section.Length == 0 || !section.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
                    throw Bad(fileName, lineNumber, "bad section name");
                continue;
            }
            var eq = line.IndexOf('=');
            if (eq <= 0) throw Bad(fileName, lineNumber, "expected key = value");
            var key = line[..eq].Trim();
            var value = line[(eq + 1)..].Trim();
            if (!key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')) throw Bad(fileName, lineNumber, "bad key");
            if (value.Length >= 2 && value[0] == '"' && value[^1] == '"') value = Unescape(value[1..^1], fileName, lineNumber);
            else if (value.Length >= 2 && value[0] == '\'' && value[^1] == '\'') value = value[1..^1];
            else if (value is not ("true" or "false") && !double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _))
                throw Bad(fileName, lineNumber, "value must be a quoted string, a number, true or false");
            result[section.Length == 0 ? key : $"{section}.{key}"] = value;
        }
        return result;
    }

    private static string StripComment(string line)
    {
        var quote = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote != '\0') { if (c == '\\' && quote == '"') i++; else if (c == quote) quote = '\0'; }
            else if (c is '"' or '\'') quote = c;
            else if (c == '#') return line[..i];
        }
        return line;
    }

    private static string Unescape(string s, string file, int line)
    {
        var sb = new System.Text.StringBuilder();
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\') { sb.Append(s[i]); continue; }
            if (++i >= s.Length) throw Bad(file, line, "dangling backslash");
            sb.Append(s[i] switch { 'n' => '\n', 't' => '\t', '"' => '"', '\\' => '\\', _ => throw Bad(file, line, $"unsupported escape \\{s[i]}") });
        }
        return sb.ToString();
    }

    private static CliException Bad(string file, int line, string what) => new(ExitCodes.Validation, $"{file}:{line}: {what}");
}
