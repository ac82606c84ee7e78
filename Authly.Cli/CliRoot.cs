using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Text;

namespace Authly.Cli;

/// <summary>
/// What the root command adds to the subcommands Program.cs lists: `--commands` (the whole tree with
/// one-line descriptions; with `--markdown` the full reference, <see cref="CliReference"/>), and usage errors reported as "error: …" with exit code 2 (the admin
/// commands' "authentication or usage" code) instead of the parser's 1.
/// </summary>
public static class CliRoot
{
    public static async Task<int> RunAsync(RootCommand root, string[] args)
    {
        var commands = new Option<bool>("--commands") { Description = "List every command with a one-line description" };
        var markdown = new Option<bool>("--markdown") { Description = "With --commands: the full reference (descriptions, arguments, options, defaults) as Markdown, as in docs/cli.md" };
        root.Options.Add(commands);
        root.Options.Add(markdown);
        var installCompletion = new Option<bool>("--install-completion") { Description = "Install shell completion for the shell in $SHELL (bash, zsh or fish)" };
        root.Options.Add(installCompletion);
        root.Description += """


            Examples:
              authly serve --embedded                      # a development server with its own PostgreSQL and Redis
              authly admin auth login -u admin             # then: authly admin client list
              authly --commands                            # every command, one line each
              authly --commands --markdown > docs/cli.md   # the full reference (make docs)
              source <(authly completion bash)             # or, once for good: authly --install-completion
            """;
        var details = SplitDescriptions(root);
        root.SetAction(parse =>
        {
            if (parse.GetValue(commands)) { Console.Write(parse.GetValue(markdown) ? CliReference.Markdown(root, details) : Tree(root)); return 0; }
            if (parse.GetValue(markdown)) { Console.Error.WriteLine("error: --markdown goes with --commands: authly --commands --markdown"); return 2; }
            if (parse.GetValue(installCompletion)) return Commands.CompletionCommand.Install(root);
            Console.Error.WriteLine("error: no command given. Run 'authly --help' or 'authly --commands'.");
            return 2;
        });

        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new HelpWithDetails((HelpAction)help.Action!, details);

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpWithDetails)
        {
            foreach (var error in parse.Errors) Console.Error.WriteLine($"error: {error.Message}");
            var path = string.Join(' ', Path(parse.CommandResult.Command));
            Console.Error.WriteLine($"Run '{path} --help' for usage.");
            return 2;
        }
        return await parse.InvokeAsync();
    }

    /// <summary>
    /// Commands describe themselves as a summary line, a blank line, then details and examples. Listings
    /// (parent help, --commands) show the summary only; a command's own --help adds the rest below.
    /// </summary>
    private static Dictionary<Command, string> SplitDescriptions(Command root)
    {
        var details = new Dictionary<Command, string>();
        void Walk(Command c)
        {
            var text = (c.Description ?? "").Replace("\r\n", "\n");
            var split = text.IndexOf("\n\n", StringComparison.Ordinal);
            if (split > 0)
            {
                c.Description = text[..split].Trim();
                details[c] = text[(split + 2)..].TrimEnd();
            }
            foreach (var sub in c.Subcommands) Walk(sub);
        }
        Walk(root);
        return details;
    }

    private sealed class HelpWithDetails(HelpAction inner, Dictionary<Command, string> details) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            inner.Invoke(parseResult);
            if (details.TryGetValue(parseResult.CommandResult.Command, out var text))
            {
                Console.Out.WriteLine(text);
                Console.Out.WriteLine();
            }
            return 0;
        }
    }

    private static IEnumerable<string> Path(Command command)
    {
        var names = new List<string>();
        for (Symbol? s = command; s is Command c; s = c.Parents.FirstOrDefault()) names.Insert(0, c is RootCommand ? "authly" : c.Name);
        return names;
    }

    public static string Tree(Command root)
    {
        var lines = new List<(string Name, string Description)>();
        void Walk(Command c, string prefix)
        {
            foreach (var sub in c.Subcommands.Where(s => !s.Hidden))
            {
                var name = $"{prefix} {sub.Name}".Trim();
                lines.Add((name, (sub.Description ?? "").Split('\n')[0].Trim()));
                Walk(sub, name);
            }
        }
        Walk(root, "authly");
        var width = lines.Max(l => l.Name.Length);
        var sb = new StringBuilder();
        foreach (var (name, description) in lines) sb.AppendLine($"{name.PadRight(width)}  {description}");
        return sb.ToString();
    }
}
