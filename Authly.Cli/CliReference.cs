using System.CommandLine;
using System.CommandLine.Help;
using System.Text;

namespace Authly.Cli;

/// <summary>
/// `authly --commands --markdown`: the command reference (docs/cli.md) written from the same command tree the
/// parser, `--help`, `--commands` and the completion scripts use, so the page cannot describe options the CLI
/// does not have. Every visible command with its full description, usage, arguments and options (descriptions and
/// defaults). Defaults are what the option's default factory returns in the generating process, so `make docs`
/// runs it without AUTHLY_* variables (three serve defaults read them).
/// </summary>
public static class CliReference
{
    public static string Markdown(RootCommand root, IReadOnlyDictionary<Command, string> details)
    {
        var commands = new List<(string Path, Command Command)>();
        void Walk(Command c, string path)
        {
            commands.Add((path, c));
            foreach (var sub in c.Subcommands.Where(s => !s.Hidden)) Walk(sub, $"{path} {sub.Name}");
        }
        Walk(root, "authly");

        var sb = new StringBuilder();
        sb.Append("""
            # `authly` command reference

            Generated from the CLI's command tree by `authly --commands --markdown`; do not edit by hand.
            After changing a command, run `make docs` (a test fails while this page differs from the CLI).
            Every command also takes `-h`/`--help` (its description and examples). Exit codes of the admin
            commands: 0 ok, 1 error, 2 authentication or usage, 3 permission denied, 4 not found, 5 validation.
            Environment variables the CLI reads are listed in [configuration.md](configuration.md#the-cli).

            ## Commands

            """).Append('\n');
        foreach (var (path, command) in commands.Skip(1))
            sb.Append($"* [{path}](#{Anchor(path)}) — {Cell(Summary(command))}\n");

        foreach (var (path, command) in commands)
        {
            sb.Append($"\n## {path}\n\n{Summary(command)}\n");
            if (details.TryGetValue(command, out var more) && more.Trim().Length > 0)
                sb.Append($"\n```text\n{Dedent(more)}\n```\n");
            if (command.Subcommands.Any(s => !s.Hidden) && command.Action is null) sb.Append($"\nUsage: `{path} <command>`\n");
            else sb.Append($"\nUsage: `{Usage(path, command)}`\n");

            var arguments = command.Arguments.Where(a => !a.Hidden).ToList();
            if (arguments.Count > 0)
            {
                sb.Append("\n| argument | description | default |\n|---|---|---|\n");
                foreach (var a in arguments)
                    sb.Append($"| `{ArgumentSyntax(a)}` | {Cell(a.Description)} | {Default(a.HasDefaultValue, a.GetDefaultValue)} |\n");
            }

            var options = Options(command).ToList();
            if (options.Count > 0)
            {
                sb.Append("\n| option | description | default |\n|---|---|---|\n");
                foreach (var (o, from) in options)
                {
                    var description = Cell(o.Description) + (from is null ? "" : $" (from `{from}`)") + (o.Required ? " **Required.**" : "");
                    sb.Append($"| {OptionSyntax(o)} | {description} | {Default(o.HasDefaultValue, o.GetDefaultValue)} |\n");
                }
            }
        }
        return sb.ToString();
    }

    /// <summary>The command's own options, then recursive ones of its parents; help and version are said once above.</summary>
    private static IEnumerable<(Option Option, string? From)> Options(Command command)
    {
        foreach (var o in command.Options.Where(Shown)) yield return (o, null);
        for (var parent = command.Parents.OfType<Command>().FirstOrDefault(); parent is not null; parent = parent.Parents.OfType<Command>().FirstOrDefault())
            foreach (var o in parent.Options.Where(o => o.Recursive && Shown(o)))
                yield return (o, PathOf(parent));
    }

    private static bool Shown(Option o) => !o.Hidden && o is not HelpOption && o is not VersionOption;

    private static string PathOf(Command c)
    {
        var names = new List<string>();
        for (Command? s = c; s is not null; s = s.Parents.OfType<Command>().FirstOrDefault()) names.Insert(0, s is RootCommand ? "authly" : s.Name);
        return string.Join(' ', names);
    }

    private static string Summary(Command c) => (c.Description ?? "").Replace("\r\n", "\n").Split("\n\n")[0].Trim();

    private static string Usage(string path, Command command)
    {
        var parts = new List<string> { path };
        parts.AddRange(command.Arguments.Where(a => !a.Hidden).Select(ArgumentSyntax));
        if (Options(command).Any()) parts.Add("[options]");
        return string.Join(' ', parts);
    }

    private static string ArgumentSyntax(Argument a)
    {
        var name = a.Arity.MaximumNumberOfValues > 1 ? $"{a.Name}..." : a.Name;
        return a.Arity.MinimumNumberOfValues > 0 ? $"<{name}>" : $"[{name}]";
    }

    private static string OptionSyntax(Option o)
    {
        var names = string.Join(", ", new[] { o.Name }.Concat(o.Aliases.Order(StringComparer.Ordinal)).Select(n => $"`{n}`"));
        if (o.Arity.MaximumNumberOfValues == 0 || o.ValueType == typeof(bool)) return names;
        var value = o.HelpName ?? o.Name.TrimStart('-');
        return $"{names} `<{value}>`" + (o.Arity.MaximumNumberOfValues > 1 ? " (repeatable)" : "");
    }

    private static string Default(bool has, Func<object?> value)
    {
        if (!has) return "";
        return value() switch
        {
            null => "",
            bool b => b ? "`true`" : "", // a flag is off unless given; saying `false` for every flag is noise
            string { Length: 0 } => "",
            System.Collections.IEnumerable e and not string => string.Join(", ", e.Cast<object>().Select(x => $"`{x}`")),
            var v => $"`{v}`",
        };
    }

    /// <summary>Markdown table cell: one line, pipes escaped.</summary>
    private static string Cell(string? text) =>
        string.Join(' ', (text ?? "").Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Replace("|", "\\|");

    /// <summary>GitHub's heading anchor for a command path ("authly admin client" → "authly-admin-client").</summary>
    public static string Anchor(string heading) =>
        new string(heading.ToLowerInvariant().Where(ch => char.IsLetterOrDigit(ch) || ch is ' ' or '-' or '_').ToArray()).Replace(' ', '-');

    private static string Dedent(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        var indent = lines.Where(l => l.Trim().Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..].TrimEnd() : l.Trim()));
    }
}
