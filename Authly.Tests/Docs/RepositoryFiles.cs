namespace Authly.Tests.Docs;

/// <summary>The repository's own files as the docs tests see them: build output, test results and dot-directories left out.</summary>
public static class RepositoryFiles
{
    public static string Root => Cluster.AuthlyNode.RepoRoot();

    private static readonly HashSet<string> Skipped = ["bin", "obj", "out", "TestResults", "node_modules"];

    public static IEnumerable<string> Find(string pattern, string? under = null)
    {
        var pending = new Stack<string>([under is null ? Root : Path.Combine(Root, under)]);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var file in Directory.EnumerateFiles(dir, pattern)) yield return file;
            foreach (var sub in Directory.EnumerateDirectories(dir))
            {
                var name = Path.GetFileName(sub);
                if (!name.StartsWith('.') && !Skipped.Contains(name)) pending.Push(sub);
            }
        }
    }

    public static string Relative(string path) => Path.GetRelativePath(Root, path);
}
