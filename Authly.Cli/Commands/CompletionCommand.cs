using System.CommandLine;
using System.Text;

namespace Authly.Cli.Commands;

/// <summary>
/// `authly completion bash|zsh|fish`: a completion script generated from the command tree itself,
/// so it never falls behind the commands. Completes command names and option names.
/// </summary>
public static class CompletionCommand
{
    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "bash, zsh or fish" };
        shell.AcceptOnlyFromAmong("bash", "zsh", "fish");
        var command = new Command("completion", """
            Print a shell completion script for bash, zsh or fish.

            Examples:
              source <(authly completion bash)                        # bash, this shell
              authly completion bash > /etc/bash_completion.d/authly  # bash, for everyone
              authly completion zsh > "${fpath[1]}/_authly"           # zsh
              authly completion fish > ~/.config/fish/completions/authly.fish
              authly --install-completion                             # the shell named by $SHELL, for this user
            """) { shell };
        command.SetAction(parse =>
        {
            Console.Write(Script(parse.RootCommandResult.Command, parse.GetValue(shell)!));
            return 0;
        });
        return command;
    }

    public static string Script(Command root, string shell)
    {
        var tree = new List<(string Path, string[] Words)>();
        Walk(root, "", tree);
        return shell switch
        {
            "bash" => Bash(tree),
            "zsh" => "#compdef authly\nautoload -U +X bashcompinit && bashcompinit\n" + Bash(tree),
            _ => Fish(tree),
        };
    }

    /// <summary>
    /// `authly --install-completion`: writes the script where the user's shell (from $SHELL) loads it by itself:
    /// bash → $XDG_DATA_HOME/bash-completion/completions/authly (bash-completion's per-user directory, loaded on
    /// first use of `authly`), fish → $XDG_CONFIG_HOME/fish/completions/authly.fish, zsh → ~/.zsh/completions/_authly
    /// (on fpath once ~/.zshrc says so). Running it again rewrites the same file. Exit 2 for a shell it does not know.
    /// </summary>
    public static int Install(Command root)
    {
        var shellPath = Environment.GetEnvironmentVariable("SHELL") ?? "";
        var shell = Path.GetFileName(shellPath.TrimEnd('/'));
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string Xdg(string variable, string fallback) =>
            Environment.GetEnvironmentVariable(variable) is { Length: > 0 } v && Path.IsPathRooted(v) ? v : Path.Combine(home, fallback);
        var target = shell switch
        {
            "bash" => Path.Combine(Xdg("XDG_DATA_HOME", ".local/share"), "bash-completion", "completions", "authly"),
            "fish" => Path.Combine(Xdg("XDG_CONFIG_HOME", ".config"), "fish", "completions", "authly.fish"),
            "zsh" => Path.Combine(home, ".zsh", "completions", "_authly"),
            _ => null,
        };
        if (target is null || home.Length == 0)
        {
            Console.Error.WriteLine(target is null
                ? $"error: cannot install completion for the shell '{(shellPath.Length == 0 ? "(SHELL is not set)" : shellPath)}'; bash, zsh and fish are supported. " +
                  "Set SHELL, or print a script with 'authly completion bash|zsh|fish'."
                : "error: cannot install completion: the home directory is unknown (set HOME).");
            return 2;
        }
        var script = Script(root, shell);
        var unchanged = File.Exists(target) && File.ReadAllText(target) == script;
        if (!unchanged)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllText(target, script);
        }
        Console.WriteLine(unchanged ? $"The {shell} completion in {target} is already up to date." : $"Installed the {shell} completion in {target}.");
        Console.WriteLine(shell switch
        {
            "bash" => "New bash shells load it through bash-completion; in this shell: source " + target,
            "zsh" => "Add to ~/.zshrc (before compinit): fpath=(~/.zsh/completions $fpath); autoload -U compinit && compinit",
            _ => "New fish shells load it by themselves.",
        });
        return 0;
    }

    private static void Walk(Command command, string path, List<(string, string[])> tree)
    {
        var words = command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name)
            .Concat(command.Options.Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)).Where(a => a.StartsWith("--")))
            .Distinct().ToArray();
        tree.Add((path, words));
        foreach (var sub in command.Subcommands.Where(c => !c.Hidden))
            Walk(sub, path.Length == 0 ? sub.Name : $"{path} {sub.Name}", tree);
    }

    private static string Bash(List<(string Path, string[] Words)> tree)
    {
        var sb = new StringBuilder("# authly bash completion (generated by `authly completion bash`)\n");
        sb.Append("declare -gA _authly_tree=(\n");
        // Keys start with "authly": bash refuses an empty associative-array key ("bad array subscript", bash 5.2).
        foreach (var (path, words) in tree) sb.Append($"  [\"{Key(path)}\"]=\"{string.Join(' ', words)}\"\n");
        sb.Append("""
            )
            _authly() {
              local cur="${COMP_WORDS[COMP_CWORD]}" path="authly" i w next
              for ((i = 1; i < COMP_CWORD; i++)); do
                w="${COMP_WORDS[i]}"
                [[ $w == -* ]] && continue
                next="$path $w"
                [[ -n "${_authly_tree[$next]+x}" ]] && path="$next"
              done
              COMPREPLY=($(compgen -W "${_authly_tree[$path]}" -- "$cur"))
            }
            complete -F _authly authly

            """);
        return sb.ToString();
    }

    private static string Key(string path) => path.Length == 0 ? "authly" : $"authly {path}";

    private static string Fish(List<(string Path, string[] Words)> tree)
    {
        var sb = new StringBuilder("""
            # authly fish completion (generated by `authly completion fish`)
            function __authly_path
                set -l known
            """);
        sb.Append("\n    set known");
        foreach (var (path, _) in tree.Where(t => t.Path.Length > 0)) sb.Append($" '{path}'");
        sb.Append("""

                set -l path ''
                for w in (commandline -opc)[2..-1]
                    string match -q -- '-*' $w; and continue
                    set -l next (string trim -- "$path $w")
                    contains -- $next $known; and set path $next
                end
                echo $path
            end

            """);
        foreach (var (path, words) in tree)
            sb.Append($"complete -c authly -f -n 'test \"(__authly_path)\" = \"{path}\"' -a '{string.Join(' ', words)}'\n");
        return sb.ToString();
    }
}
