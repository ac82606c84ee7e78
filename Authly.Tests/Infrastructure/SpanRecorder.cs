using System.Collections.Concurrent;
using System.Diagnostics;
using Authly.Server.Metrics;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace Authly.Tests.Infrastructure;

/// <summary>
/// Records, in memory, the spans of the sources the server exports (<see cref="AuthlyTelemetry.AddAuthlySources"/>) for
/// the traces a test starts itself: requests carry a <c>traceparent</c> of <see cref="NewTrace"/>, and only such traces
/// are sampled (parent-based, roots off), so other fixtures' requests in this process are not recorded by this one.
/// Spans recorded by another provider in the process (one that samples everything) are filtered by trace id on reading.
/// </summary>
public sealed class SpanRecorder : IDisposable
{
    private readonly ConcurrentQueue<Activity> _ended = new();
    private readonly TracerProvider _provider;

    public SpanRecorder() =>
        _provider = Sdk.CreateTracerProviderBuilder().AddAuthlySources()
            .SetSampler(new ParentBasedSampler(new AlwaysOffSampler())).AddProcessor(new Recorder(_ended)).Build()!;

    private sealed class Recorder(ConcurrentQueue<Activity> ended) : BaseProcessor<Activity>
    {
        public override void OnEnd(Activity activity) => ended.Enqueue(activity);
    }

    /// <summary>A W3C trace context header value (sampled) for a new trace, its trace id and the remote parent's span id.</summary>
    public static (string TraceParent, ActivityTraceId TraceId, ActivitySpanId ParentId) NewTrace()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var parentId = ActivitySpanId.CreateRandom();
        return ($"00-{traceId.ToHexString()}-{parentId.ToHexString()}-01", traceId, parentId);
    }

    /// <summary>The ended spans of one trace, waiting (up to 10 s) until <paramref name="complete"/> holds for them.</summary>
    public async Task<List<Activity>> SpansAsync(ActivityTraceId traceId, Func<List<Activity>, bool> complete)
    {
        List<Activity> spans = [];
        await Eventually.TrueAsync(() =>
        {
            spans = _ended.Where(a => a.TraceId == traceId).Distinct().ToList();
            return Task.FromResult(complete(spans));
        }, TimeSpan.FromSeconds(10));
        return spans;
    }

    public void Dispose() => _provider.Dispose();
}
