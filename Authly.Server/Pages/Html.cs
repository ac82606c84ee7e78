using System.Text;
using System.Text.Encodings.Web;

namespace Authly.Server.Pages;

/// <summary>Server-rendered pages: small, escaped, no inline script (the CSP forbids it), readable on a phone.</summary>
public static class Html
{
    public static string E(string? s) => HtmlEncoder.Default.Encode(s ?? "");

    public static IResult Page(string title, string body, int status = 200, string? script = null)
    {
        var html = $"""
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{E(title)} · Authly</title>
            <link rel="stylesheet" href="/static/authly.css">
            {(script is null ? "" : $"<script src=\"{E(script)}\" defer></script>")}
            </head><body><main class="card">
            <p class="brand">Authly</p>
            {body}
            </main></body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    public static string Hidden(string name, string? value) => $"<input type=\"hidden\" name=\"{E(name)}\" value=\"{E(value)}\">";

    public static string Hidden(IEnumerable<KeyValuePair<string, string>> fields) => string.Concat(fields.Select(f => Hidden(f.Key, f.Value)));

    public static string Message(string? error) => error is null ? "" : $"<p class=\"error\" role=\"alert\">{E(error)}</p>";

    public static IResult Error(string title, string message, int status = 400) =>
        Page(title, $"<h1>{E(title)}</h1><p>{E(message)}</p>", status);
}
