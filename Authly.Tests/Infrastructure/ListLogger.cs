using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Authly.Tests.Infrastructure;

/// <summary>A logger that keeps what it is told, for tests that count log lines (once per outage, not per request).</summary>
public sealed class ListLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, formatter(state, exception)));
    public int Count(string containing) => Entries.Count(e => e.Message.Contains(containing, StringComparison.Ordinal));
}
