using System.Text;

namespace Authly.Cli.Admin;

/// <summary>Prompts: hidden input and confirmations on a terminal; lines from stdin otherwise.</summary>
public static class Terminal
{
    public static bool IsInteractive => !Console.IsInputRedirected;

    /// <summary>Reads a line the user types without echoing it (a terminal), or the next stdin line.</summary>
    public static string ReadSecret(string prompt)
    {
        if (!IsInteractive) return ReadLine(prompt);
        Console.Error.Write(prompt);
        var sb = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter) break;
            if (key.Key == ConsoleKey.Backspace) { if (sb.Length > 0) sb.Length--; continue; }
            if (!char.IsControl(key.KeyChar)) sb.Append(key.KeyChar);
        }
        Console.Error.WriteLine();
        return sb.ToString();
    }

    public static string ReadLine(string prompt)
    {
        if (IsInteractive) Console.Error.Write(prompt);
        return Console.In.ReadLine()?.TrimEnd('\r')
               ?? throw new CliException(ExitCodes.Authentication, $"{prompt.TrimEnd(' ', ':')} expected on stdin, found end of input");
    }

    /// <summary>
    /// Destructive commands need --confirm; on a terminal the user may instead type "yes".
    /// Without either, refuse (exit 5) and change nothing.
    /// </summary>
    public static void Confirm(bool confirmed, string action)
    {
        if (confirmed) return;
        if (!IsInteractive) throw new CliException(ExitCodes.Validation,
            $"Refusing to {action} without --confirm: stdin is not a terminal, so nobody can type 'yes'. Add --confirm to the command to do it");
        Console.Error.Write($"About to {action}. Type 'yes' to continue: ");
        if (Console.In.ReadLine()?.Trim() != "yes") throw new CliException(ExitCodes.Validation, "Cancelled: nothing was changed (type 'yes', or add --confirm to the command)");
    }
}
