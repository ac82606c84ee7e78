namespace Authly.Tests.Cli;

/// <summary>Every command in `authly --commands` has a one-line description there and examples in its own --help.</summary>
[TestFixture, Category("Cli")]
public sealed class CliHelpTests
{
    [Test]
    public async Task EveryCommand_HasADescription_AndExamplesInItsHelp()
    {
        var cli = new AuthlyCli("http://127.0.0.1:1");
        var tree = await cli.RunAsync("--commands");
        Assert.That(tree.ExitCode, Is.EqualTo(0), tree.ToString());
        var lines = tree.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.GreaterThan(40));
        var missing = new List<string>();
        await Parallel.ForEachAsync(lines, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (line, _) =>
        {
            var parts = line.Split("  ", 2, StringSplitOptions.TrimEntries);
            var path = parts[0].Split(' ')[1..];
            if (parts.Length < 2 || parts[1].Length == 0) lock (missing) missing.Add($"{parts[0]}: no description");
            var help = await cli.RunAsync([.. path, "--help"]);
            if (help.ExitCode != 0 || !help.Stdout.Contains("Example")) lock (missing) missing.Add($"{parts[0]}: no examples in --help");
        });
        Assert.That(missing, Is.Empty);
    }

    [Test]
    public async Task UsageErrors_ExitTwo_WithAnErrorLineAndAHint()
    {
        var cli = new AuthlyCli("http://127.0.0.1:1");
        var r = await cli.RunAsync("admin", "user", "list", "--limit", "many");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr, Does.StartWith("error:").And.Contain("authly admin user list --help"));
    }
}
