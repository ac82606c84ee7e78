namespace Authly.Configuration;

/// <summary>Startup configuration is wrong; the message lists every bad value, one per line.</summary>
public sealed class AuthlyConfigurationException(IReadOnlyList<string> problems)
    : Exception("Authly cannot start with this configuration:" + Environment.NewLine +
                string.Join(Environment.NewLine, problems.Select(p => "  - " + p)))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
