using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Authly.Cli.Admin;

/// <summary>
/// --output table|json. JSON is the server's answer, indented, unchanged (stable for scripts);
/// tables show chosen columns of a list, or every field of one object.
/// </summary>
public static class Output
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string Json(JsonNode? node) => node?.ToJsonString(Indented) ?? "null";

    public static string Table(JsonArray rows, params (string Key, string Header)[] columns)
    {
        if (rows.Count == 0) return "(none)";
        var cells = rows.Select(r => columns.Select(c => Cell(r?[c.Key])).ToArray()).ToList();
        var widths = columns.Select((c, i) => Math.Max(c.Header.Length, cells.Max(row => row[i].Length))).ToArray();
        var sb = new StringBuilder();
        sb.AppendLine(string.Join("  ", columns.Select((c, i) => c.Header.PadRight(widths[i]))).TrimEnd());
        sb.AppendLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in cells) sb.AppendLine(string.Join("  ", row.Select((v, i) => v.PadRight(widths[i]))).TrimEnd());
        return sb.ToString().TrimEnd();
    }

    public static string Fields(JsonObject item)
    {
        var width = item.Max(p => p.Key.Length);
        return string.Join(Environment.NewLine, item.Select(p => $"{p.Key.PadRight(width)}  {Cell(p.Value)}"));
    }

    public static string Cell(JsonNode? node) => node switch
    {
        null => "-",
        JsonArray a => a.Count == 0 ? "-" : string.Join(", ", a.Select(Cell)),
        JsonObject o => o.ToJsonString(),
        JsonValue v when v.TryGetValue<string>(out var s) => s.Length == 0 ? "-" : s,
        JsonValue v when v.TryGetValue<bool>(out var b) => b ? "yes" : "no",
        _ => node.ToJsonString(),
    };
}
