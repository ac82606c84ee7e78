using Authly.Tests.Cli;

namespace Authly.Tests.Docs;

/// <summary>
/// Issue 15 §3: docs/cli.md is what the built CLI prints for `authly --commands --markdown`, so the reference cannot
/// drift from the command tree. Run without AUTHLY_* variables, as `make docs` does: three serve defaults read them.
/// </summary>
[TestFixture, Category("Docs"), Category("Cli")]
public sealed class CliReferenceTests
{
    private static Dictionary<string, string?> WithoutAuthlyVariables() =>
        Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("AUTHLY_", StringComparison.Ordinal))
            .ToDictionary(k => k, string? (_) => null);

    [Test, Description("Issue 15 §3: the committed CLI reference is the one the command tree generates")]
    public async Task CliMd_IsWhatTheBuiltCliGenerates()
    {
        var generated = await new AuthlyCli("http://127.0.0.1:1").RunWithAsync(null, WithoutAuthlyVariables(), "--commands", "--markdown");
        Assert.That(generated.ExitCode, Is.EqualTo(0), generated.ToString());
        var committed = File.ReadAllText(Path.Combine(RepositoryFiles.Root, "docs", "cli.md"));
        if (committed != generated.Stdout)
            Assert.Fail("docs/cli.md differs from `authly --commands --markdown`: run `make docs` to refresh it.\n"
                        + FirstDifference(committed, generated.Stdout));
    }

    [Test]
    public async Task TheReference_HasEveryCommandOfTheTree_WithItsOptionsAndDefaults()
    {
        var cli = new AuthlyCli("http://127.0.0.1:1");
        var tree = await cli.RunAsync("--commands");
        var reference = (await cli.RunWithAsync(null, WithoutAuthlyVariables(), "--commands", "--markdown")).Stdout;
        var commands = tree.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split("  ", 2)[0].Trim()).ToList();
        Assert.That(commands, Has.Count.GreaterThan(40));
        Assert.That(commands.Where(c => !reference.Contains($"\n## {c}\n")), Is.Empty, "a command of --commands has no section");
        Assert.That(reference, Does.Contain("| `--port` `<port>` | HTTP port | `8000` |"), "options carry their description and default");
        Assert.That(reference, Does.Contain("| `--output`, `-o` `<output>` |"), "aliases are listed");
        Assert.That(reference, Does.Contain("(from `authly admin`)"), "recursive options appear on the subcommands");
    }

    [Test]
    public async Task Markdown_WithoutCommands_IsAUsageError()
    {
        var r = await new AuthlyCli("http://127.0.0.1:1").RunAsync("--markdown");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr, Does.Contain("authly --commands --markdown"));
    }

    private static string FirstDifference(string committed, string generated)
    {
        var a = committed.Split('\n');
        var b = generated.Split('\n');
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var (x, y) = (i < a.Length ? a[i] : "(end of file)", i < b.Length ? b[i] : "(end of output)");
            if (x != y) return $"first difference at line {i + 1}:\n  docs/cli.md: {x}\n  generated:   {y}";
        }
        return "";
    }
}
