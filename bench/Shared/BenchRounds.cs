using System.Diagnostics;

namespace Authly.Bench;

/// <summary>
/// The measurement loop every one-thread bench tool here shares: run an operation for a number of seconds, then
/// report operations per wall-clock second and this process's CPU time per operation (which a neighbour's load
/// changes much less than the rate). Tools alternate short rounds of each kind they compare, so a burst of load
/// lowers one round of each kind rather than one kind as a whole, and report the best and the median.
/// </summary>
internal static class BenchRounds
{
    private static readonly Process Self = Process.GetCurrentProcess();

    /// <summary>One round: <paramref name="op"/> repeated in batches of <paramref name="batch"/> for
    /// <paramref name="seconds"/>; its return values are summed into a sink so the work cannot be elided.</summary>
    public static Round Measure(Func<int> op, double seconds, int batch = 1)
    {
        Self.Refresh();
        var cpu = Self.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        var n = 0;
        var sink = 0;
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            for (var i = 0; i < batch; i++) sink += op();
            n += batch;
        }
        sw.Stop();
        Self.Refresh();
        GC.KeepAlive(sink);
        return new Round(n / sw.Elapsed.TotalSeconds, (Self.TotalProcessorTime - cpu).TotalMicroseconds / n);
    }

    /// <summary>Best, median and worst rate, and the lowest and median CPU per operation, of a set of rounds.</summary>
    public static Summary Summarize(IReadOnlyCollection<Round> rounds)
    {
        if (rounds.Count == 0) throw new ArgumentException("no rounds were measured", nameof(rounds));
        var rates = rounds.Select(r => r.Rate).Order().ToArray();
        var cpu = rounds.Select(r => r.CpuMicros).Order().ToArray();
        return new Summary(rates[^1], rates[rates.Length / 2], rates[0], cpu[0], cpu[cpu.Length / 2]);
    }
}

internal readonly record struct Round(double Rate, double CpuMicros);

internal readonly record struct Summary(double BestRate, double MedianRate, double WorstRate, double LowestCpuMicros, double MedianCpuMicros);
