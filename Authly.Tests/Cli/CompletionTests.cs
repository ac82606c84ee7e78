using System.Diagnostics;

namespace Authly.Tests.Cli;

/// <summary>
/// Issue 15: `authly completion bash` works in a real bash (5.2 refused the old script's empty array key with
/// "bad array subscript"), and `authly --install-completion` puts the script where the user's shell loads it.
/// </summary>
[TestFixture, Category("Cli")]
public sealed class CompletionTests
{
    /// <summary>Sources the script in a non-interactive bash, then completes `words` with the cursor on the last one.</summary>
    private static async Task<(int Exit, string Stdout, string Stderr)> BashAsync(string scriptFile, string body)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--norc");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"set -u; source '{scriptFile}' || exit 90; {body}");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (p.ExitCode, await stdout, await stderr);
    }

    private static string Complete(params string[] words) =>
        $"COMP_WORDS=({string.Join(' ', words.Select(w => $"'{w}'"))}); COMP_CWORD={words.Length - 1}; _authly; printf '%s\\n' \"${{COMPREPLY[@]}}\"";

    [Test, Description("Issue 15: top-level and nested bash completion in a real bash")]
    public async Task BashScript_LoadsWithoutErrors_AndCompletesTopLevelAndNestedCommands()
    {
        var cli = new AuthlyCli("http://127.0.0.1:1");
        var script = await cli.RunAsync("completion", "bash");
        Assert.That(script.ExitCode, Is.Zero, script.ToString());
        var file = Path.Combine(cli.ConfigDir, "authly.bash");
        await File.WriteAllTextAsync(file, script.Stdout);

        var registered = await BashAsync(file, "complete -p authly");
        Assert.That((registered.Exit, registered.Stderr), Is.EqualTo((0, "")), registered.Stdout);
        Assert.That(registered.Stdout.Trim(), Is.EqualTo("complete -F _authly authly"));

        var top = await BashAsync(file, Complete("authly", "ad"));
        Assert.That((top.Exit, top.Stderr, top.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)), Is.EqualTo((0, "", new[] { "admin" })));
        var nested = await BashAsync(file, Complete("authly", "admin", "cl"));
        Assert.That((nested.Exit, nested.Stderr, nested.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)), Is.EqualTo((0, "", new[] { "client" })));
        var options = await BashAsync(file, Complete("authly", "--comm"));
        Assert.That(options.Stdout.Trim(), Is.EqualTo("--commands"), options.Stderr);
        var everything = await BashAsync(file, Complete("authly", ""));
        Assert.That(everything.Stdout.Split('\n'), Does.Contain("serve").And.Contain("admin").And.Contain("completion"), everything.Stderr);
    }

    [Test, Description("Issue 15: --install-completion writes bash-completion's per-user file, again without change, and the file works")]
    public async Task InstallCompletion_ForBash_WritesTheStandardPerUserFile_Idempotently()
    {
        var cli = new AuthlyCli("http://127.0.0.1:1");
        var env = new Dictionary<string, string?> { ["SHELL"] = "/bin/bash", ["XDG_DATA_HOME"] = null };
        var first = await cli.RunWithAsync(null, env, "--install-completion");
        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        var target = Path.Combine(cli.ConfigDir, ".local", "share", "bash-completion", "completions", "authly");
        Assert.That(first.Stdout, Does.Contain("Installed").And.Contain(target));
        var installed = await File.ReadAllTextAsync(target);
        Assert.That(installed, Is.EqualTo((await cli.RunAsync("completion", "bash")).Stdout));

        var second = await cli.RunWithAsync(null, env, "--install-completion");
        Assert.That(second.ExitCode, Is.Zero, second.ToString());
        Assert.That(second.Stdout, Does.Contain("already up to date"));
        Assert.That(await File.ReadAllTextAsync(target), Is.EqualTo(installed));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(target)!), Has.Length.EqualTo(1));

        var works = await BashAsync(target, Complete("authly", "admin", "cl"));
        Assert.That(works.Stdout.Trim(), Is.EqualTo("client"), works.Stderr);
    }

    [TestCase("/bin/fish", ".config/fish/completions/authly.fish")]
    [TestCase("/usr/bin/zsh", ".zsh/completions/_authly")]
    public async Task InstallCompletion_ForFishAndZsh_WritesWhereTheyLoadFrom(string shell, string relative)
    {
        var cli = new AuthlyCli("http://127.0.0.1:1");
        var r = await cli.RunWithAsync(null, new Dictionary<string, string?> { ["SHELL"] = shell, ["XDG_CONFIG_HOME"] = null }, "--install-completion");
        Assert.That(r.ExitCode, Is.Zero, r.ToString());
        var target = Path.Combine(cli.ConfigDir, relative);
        Assert.That(await File.ReadAllTextAsync(target), Is.EqualTo((await cli.RunAsync("completion", Path.GetFileName(shell))).Stdout));
    }

    [TestCase("/bin/tcsh")]
    [TestCase(null)]
    [Description("Issue 15: an unknown shell is refused clearly, exit 2, and nothing is written")]
    public async Task InstallCompletion_ForAnUnknownShell_IsRefused_AndWritesNothing(string? shell)
    {
        var cli = new AuthlyCli("http://127.0.0.1:1");
        var before = Directory.GetFileSystemEntries(cli.ConfigDir, "*", SearchOption.AllDirectories);
        var r = await cli.RunWithAsync(null, new Dictionary<string, string?> { ["SHELL"] = shell }, "--install-completion");
        Assert.That(r.ExitCode, Is.EqualTo(2), r.ToString());
        Assert.That(r.Stderr, Does.StartWith("error: cannot install completion for the shell").And.Contain("bash, zsh and fish"));
        Assert.That(Directory.GetFileSystemEntries(cli.ConfigDir, "*", SearchOption.AllDirectories), Is.EquivalentTo(before));
    }
}
