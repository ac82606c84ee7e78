using System.Text.RegularExpressions;

namespace Authly.Tests.Docs;

/// <summary>
/// Issue 15 §3: every setting the code reads is in docs/configuration.md. Settings are read through a few shapes,
/// all taking the variable's name as a string literal: the options readers of the server and the proxies
/// (<c>AuthlyOptions.Load</c>: <c>get("X")</c>, <c>reader.Int("X", …)</c>; <c>ProxyOptions.FromEnvironment</c>:
/// <c>get("X")</c>, <c>Int(get, "X", …)</c>) and <c>Environment.GetEnvironmentVariable("X")</c> in the CLI and
/// the embedded services. The scan finds those calls in the production sources; so that a new reading shape cannot
/// slip past it, every upper-case <c>NAME_LIKE_THIS</c> literal in the two options files must be one of them.
/// </summary>
[TestFixture, Category("Docs")]
public sealed partial class ConfigurationDocsTests
{
    private const string Name = @"""([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)""";

    [GeneratedRegex(@"\b(?:GetEnvironmentVariable|get|EnvInt|reader\.\w+|\w+\(get,)\s*\(?\s*" + Name)]
    private static partial Regex Read();

    [GeneratedRegex(Name)]
    private static partial Regex AnyName();

    private static readonly string[] Projects = ["Authly.Core", "Authly.Server", "Authly.Cli"];
    private static readonly string[] OptionsFiles = ["Authly.Core/Configuration/AuthlyOptions.cs", "Authly.Core/Proxy/ProxyOptions.cs"];

    public static SortedSet<string> NamesRead(string source) => [.. Read().Matches(source).Select(m => m.Groups[1].Value)];

    private static Dictionary<string, SortedSet<string>> ReadByFile() =>
        Projects.SelectMany(p => RepositoryFiles.Find("*.cs", p))
            .Select(f => (file: RepositoryFiles.Relative(f).Replace('\\', '/'), names: NamesRead(File.ReadAllText(f))))
            .Where(x => x.names.Count > 0)
            .ToDictionary(x => x.file, x => x.names);

    [Test, Description("Issue 15 §3: every environment variable read in code is listed in docs/configuration.md")]
    public void EverySettingReadInCode_IsListedInConfigurationMd()
    {
        var byFile = ReadByFile();
        Assert.That(byFile["Authly.Core/Configuration/AuthlyOptions.cs"], Has.Count.GreaterThan(30).And.Member("DATABASE_URL").And.Member("AUTHLY_MODE"));
        Assert.That(byFile["Authly.Core/Proxy/ProxyOptions.cs"], Has.Member("AUTHLY_PROXY_MAX_ROWS").And.Member("AUTHLY_URL"));
        Assert.That(byFile.Keys.Where(f => f.StartsWith("Authly.Cli/")), Is.Not.Empty, "the CLI's GetEnvironmentVariable calls are scanned");

        var docs = File.ReadAllText(Path.Combine(RepositoryFiles.Root, "docs", "configuration.md"));
        var missing = byFile.SelectMany(kv => kv.Value.Where(n => !docs.Contains($"`{n}`", StringComparison.Ordinal)).Select(n => $"{n} (read in {kv.Key})")).ToList();
        Assert.That(missing, Is.Empty, "add these to docs/configuration.md with their default and meaning");
    }

    [Test, Description("The scan is honest: every NAME_LIKE_THIS literal in the options files is read through a shape it recognises")]
    public void EveryNameInTheOptionsFiles_IsSeenByTheScan()
    {
        foreach (var file in OptionsFiles)
        {
            var source = File.ReadAllText(Path.Combine(RepositoryFiles.Root, file));
            var all = AnyName().Matches(source).Select(m => m.Groups[1].Value).ToHashSet();
            Assert.That(all.Except(NamesRead(source)), Is.Empty, $"{file} names a setting in a way the scan does not recognise: teach Read() the new shape");
        }
    }

    [Test]
    public void TheScan_RecognisesEachReadingShape()
    {
        const string source = """
            var a = get("DATABASE_URL"); var b = reader.Int("RATE_LIMIT_MAX_REQUESTS", 100, 0, 10);
            var c = Int(get, "AUTHLY_PROXY_MAX_ROWS", 1000, 1, 10, errors); var d = Environment.GetEnvironmentVariable("AUTHLY_CONFIG_DIR");
            var e = EnvInt("AUTHLY_EMBEDDED_PG_PORT"); throw new AuthlyException(503, "x", "VAULT_NOT_CONFIGURED");
            """;
        Assert.That(NamesRead(source), Is.EqualTo(new[] { "AUTHLY_CONFIG_DIR", "AUTHLY_EMBEDDED_PG_PORT", "AUTHLY_PROXY_MAX_ROWS", "DATABASE_URL", "RATE_LIMIT_MAX_REQUESTS" }));
    }
}
