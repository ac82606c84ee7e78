using System.Text.RegularExpressions;

namespace Authly.Tests.Docs;

/// <summary>
/// Issue 15 §3: the documentation is self-contained. Every relative link in the repository's Markdown resolves to a
/// file or directory of the repository; none leaves it (the README used to link ../shared/docs/API.md, which a clone
/// does not have) and none is an absolute path of the machine that wrote it.
/// </summary>
[TestFixture, Category("Docs")]
public sealed partial class MarkdownLinkTests
{
    [GeneratedRegex(@"^(```|~~~).*?^\1[^\n]*$", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FencedCode();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex InlineCode();

    // [text](target "title") and ![alt](target); reference definitions "[name]: target".
    [GeneratedRegex(@"\]\(\s*<?([^)\s>]+)>?(?:\s+""[^""]*"")?\s*\)|^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", RegexOptions.Multiline)]
    private static partial Regex Link();

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    private static partial Regex Scheme();

    public static IEnumerable<(string File, string Target)> Links(string markdown, string file)
    {
        var text = InlineCode().Replace(FencedCode().Replace(markdown, ""), "");
        foreach (Match m in Link().Matches(text))
            yield return (file, m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
    }

    /// <summary>Why a link fails, or null when it resolves to a file or directory inside the repository.</summary>
    public static string? Problem(string root, string file, string target)
    {
        if (target.StartsWith('#') || Scheme().IsMatch(target) && !target.StartsWith("file:", StringComparison.OrdinalIgnoreCase)) return null;
        if (target.StartsWith("file:", StringComparison.OrdinalIgnoreCase) || target.StartsWith('/') || target.StartsWith('~'))
            return "an absolute path (it exists only on the machine that wrote it)";
        var path = Uri.UnescapeDataString(target.Split('#', 2)[0].Split('?', 2)[0]);
        var full = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, path));
        var rootWithSeparator = Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar;
        if (full != Path.TrimEndingDirectorySeparator(root) && !full.StartsWith(rootWithSeparator, StringComparison.Ordinal))
            return "leaves the repository";
        return File.Exists(full) || Directory.Exists(full) ? null : "no such file in the repository";
    }

    [Test, Description("Issue 15 §3: every relative Markdown link resolves inside the repository")]
    public void EveryRelativeLink_InEveryMarkdownFile_ResolvesToAFileOfTheRepository()
    {
        var root = RepositoryFiles.Root;
        var files = RepositoryFiles.Find("*.md").ToList();
        Assert.That(files.Select(RepositoryFiles.Relative), Has.Member("README.md").And.Member(Path.Combine("docs", "api.md")));
        var links = files.SelectMany(f => Links(File.ReadAllText(f), f)).ToList();
        Assert.That(links.Count(l => !Scheme().IsMatch(l.Target) && !l.Target.StartsWith('#')), Is.GreaterThan(10), "the scan found the relative links");

        var broken = links.Select(l => (l, why: Problem(root, l.File, l.Target)))
            .Where(x => x.why is not null)
            .Select(x => $"{RepositoryFiles.Relative(x.l.File)}: ({x.l.Target}) {x.why}")
            .ToList();
        Assert.That(broken, Is.Empty);
    }

    [Test, Description("Issue 15 §3: the README and the standalone README link the HTTP contract and the CLI reference")]
    public void Readmes_LinkTheApiContract_AndTheCliReference()
    {
        foreach (var (readme, prefix) in new[] { ("README.md", "docs/"), ("docker-standalone/README.md", "../docs/") })
        {
            var targets = Links(File.ReadAllText(Path.Combine(RepositoryFiles.Root, readme)), readme).Select(l => l.Target.Split('#')[0]).ToList();
            Assert.That(targets, Has.Member(prefix + "api.md").And.Member(prefix + "cli.md"), readme);
        }
    }

    [TestCase("../shared/docs/API.md", "leaves the repository")]
    [TestCase("../../shared/docs/API.md", "leaves the repository")]
    [TestCase("/work/shared/docs/API.md", "an absolute path (it exists only on the machine that wrote it)")]
    [TestCase("file:///etc/passwd", "an absolute path (it exists only on the machine that wrote it)")]
    [TestCase("docs/missing.md", "no such file in the repository")]
    [TestCase("docs/api.md#errors", null)]
    [TestCase("docs/", null)]
    [TestCase("https://www.rfc-editor.org/rfc/rfc6749", null)]
    [TestCase("#configuration", null)]
    public void Problem_NamesWhatIsWrongWithALink(string target, string? expected) =>
        Assert.That(Problem(RepositoryFiles.Root, Path.Combine(RepositoryFiles.Root, "README.md"), target), Is.EqualTo(expected));

    [Test]
    public void Links_AreNotTakenFromCode()
    {
        const string md = "see [api](docs/api.md) and `[x](not-a-link.md)`\n```\n[y](neither.md)\n```\n[ref]: docs/cli.md \"title\"\n";
        Assert.That(Links(md, "README.md").Select(l => l.Target), Is.EqualTo(new[] { "docs/api.md", "docs/cli.md" }));
    }
}
