namespace Authly.Cli.Admin;

/// <summary>A failure to report as one line on stderr, with its exit code. Built by the commands and by <see cref="ExitCodes.Of(AuthlyException)"/>.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    /// <summary>Writes "error: …" to stderr and returns the exit code.</summary>
    public int Report()
    {
        Console.Error.WriteLine($"error: {Message}");
        return ExitCode;
    }
}
